import type { AdamWParameters, AttentionResult, Backend, CrossEntropyResult, LayernormGradients, LayernormResult, MatmulGradients, MatmulOptions } from '../backend.ts';
import {
  checkAccumulate,
  checkAdamw,
  checkAdd,
  checkAttention,
  checkAttentionBackward,
  checkColumnSum,
  checkCrossEntropy,
  checkCrossEntropyBackward,
  checkEmbedding,
  checkEmbeddingBackward,
  checkGelu,
  checkGeluBackward,
  checkLayernorm,
  checkLayernormBackward,
  checkMatmul,
  checkRead,
  checkReshape,
  checkUpload,
  checkZeros,
  expectTensor,
} from '../check.ts';
import { BufferLimitError, TensorShapeError } from '../errors.ts';
import { matmulBackward } from '../matmul-backward.ts';
import { adamwScalars } from '../ops/adamw.cpu.ts';
import { adamwKernel } from '../ops/adamw.wgsl.ts';
import * as attention from '../ops/attention.wgsl.ts';
import * as crossEntropy from '../ops/crossentropy.wgsl.ts';
import { accumulateKernel, addKernel, columnSumKernel } from '../ops/elementwise.wgsl.ts';
import { embeddingBackwardKernel, embeddingKernel } from '../ops/embedding.wgsl.ts';
import { geluBackwardKernel, geluKernel } from '../ops/gelu.wgsl.ts';
import * as layernorm from '../ops/layernorm.wgsl.ts';
import { planMatmul } from '../ops/matmul.wgsl.ts';
import { Tensor, formatShape, sizeOf, type DType, type Shape, type TensorData, type TensorStorage } from '../tensor.ts';
import type { BufferPoolStats } from './buffer-pool.ts';
import { adapterName, requestDevice, summarizeAdapter, type AdapterSummary } from './device.ts';
import { WORKGROUP_THREADS, foldWorkgroups, type Kernel } from './kernel.ts';
import { GpuRuntime, type Binding } from './runtime.ts';

class GpuStorage implements TensorStorage {
  refs = 1;
  constructor(
    readonly buffer: GPUBuffer,
    readonly bytes: number,
    private readonly runtime: GpuRuntime,
  ) {}
  release(): void {
    this.runtime.storage.release(this.buffer);
  }
}

type GpuTensor = Tensor<GpuStorage>;

const describe = (ts: readonly Tensor[]): string => ts.map((t) => formatShape(t.shape)).join('×');
/** The buffer of a tensor this backend made or its op's check accepted. */
const buf = (t: Tensor): GpuStorage => (t as GpuTensor).storage;

/** WGSL compute kernels on a WebGPU device, in a browser (navigator.gpu) or in Node (npm `webgpu`). */
export class WebGpuBackend implements Backend {
  readonly name = 'webgpu' as const;
  readonly adapterSummary: AdapterSummary;
  private readonly runtime: GpuRuntime;

  /** In a browser pass nothing (navigator.gpu is used); in Node use createNodeWebGpuBackend. */
  static async create(gpu?: GPU, onDestroy?: () => void): Promise<WebGpuBackend> {
    const { adapter, device } = await requestDevice(gpu ?? globalThis.navigator?.gpu);
    return new WebGpuBackend(adapter, device, onDestroy);
  }

  constructor(
    adapter: GPUAdapter,
    readonly device: GPUDevice,
    private readonly onDestroy?: () => void,
  ) {
    this.adapterSummary = summarizeAdapter(adapter);
    this.runtime = new GpuRuntime(device);
  }

  get adapterName(): string {
    return adapterName(this.adapterSummary);
  }

  /** Buffer pool counters: `live` and `created` stay flat across steps of a warm loop. */
  memoryStats(): BufferPoolStats {
    return this.runtime.stats();
  }

  private alloc(op: string, shape: Shape, dtype: DType = 'f32'): GpuTensor {
    const bytes = sizeOf(shape) * 4;
    const limits = this.device.limits;
    if (bytes > limits.maxStorageBufferBindingSize) {
      throw new BufferLimitError(op, shape, bytes, limits.maxStorageBufferBindingSize, 'maxStorageBufferBindingSize');
    }
    this.runtime.ensureAlive(op);
    const buffer = this.runtime.storage.acquire(bytes, `${op} ${formatShape(shape)}`);
    return new Tensor(this.name, [...shape], dtype, new GpuStorage(buffer, bytes, this.runtime));
  }

  private run(kernel: Kernel, inputs: readonly Tensor[], bindings: Binding[], params: number[], workgroups: [number, number, number]): void {
    this.runtime.dispatch(kernel, `${kernel.name} ${describe(inputs)}`, bindings, params, workgroups);
  }

  /** One thread per element over n elements. */
  private elementwise(kernel: Kernel, inputs: readonly Tensor[], bindings: Binding[], params: number[]): void {
    this.run(kernel, inputs, bindings, params, foldWorkgroups(Math.ceil(params[0] / WORKGROUP_THREADS)));
  }

  upload(data: TensorData | Float64Array, shape: Shape): Tensor {
    checkUpload(shape, data.length);
    const t = this.alloc('upload', shape, data instanceof Int32Array ? 'i32' : 'f32');
    this.runtime.write(t.storage.buffer, data instanceof Float64Array ? Float32Array.from(data) : data);
    return t;
  }

  zeros(shape: Shape, dtype: DType = 'f32'): Tensor {
    checkZeros(shape);
    const t = this.alloc('zeros', shape, dtype);
    this.runtime.clear(t.storage);
    return t;
  }

  reshape(t: Tensor, shape: Shape): Tensor {
    checkReshape(this.name, t, shape);
    t.storage.refs += 1;
    return new Tensor(this.name, [...shape], t.dtype, buf(t));
  }

  async read(t: Tensor): Promise<TensorData> {
    checkRead(this.name, t);
    const bytes = await this.runtime.readBytes('read', buf(t));
    return t.dtype === 'i32' ? new Int32Array(bytes) : new Float32Array(bytes);
  }

  sync(): Promise<void> {
    return this.runtime.sync();
  }

  destroy(): void {
    this.runtime.destroy();
    this.onDestroy?.();
  }

  get lost(): boolean {
    return this.runtime.lost;
  }

  /** Destroys the device as a driver reset would, keeping everything else: for tests of recovery. */
  loseDevice(): void {
    this.runtime.device.destroy();
  }

  /** Runs a custom kernel; for ops outside this interface (fused kernels, tests). */
  dispatch(kernel: Kernel, tensors: readonly Tensor[], params: number[], workgroups: [number, number, number]): void {
    tensors.forEach((t, i) => expectTensor(kernel.name, kernel.bindings[i]?.name ?? `#${i}`, t, this.name, t.dtype));
    this.run(kernel, tensors, tensors.map(buf), params, workgroups);
  }

  matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
    const op = 'matmul';
    const d = checkMatmul(this.name, a, b, options);
    const variant = { transA: !!options.transA, transB: !!options.transB, bias: !!options.bias };
    const plan = planMatmul(d, variant, { fallbackAdapter: this.adapterSummary.isFallbackAdapter });
    const limit = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (plan.grid.some((g) => g > limit)) {
      throw new TensorShapeError(op, `${d.batch}×[${d.M},${d.N}] needs a workgroup grid of ${formatShape(plan.grid)}, above this adapter's ${limit} per dimension`);
    }
    const out = this.alloc(op, d.outShape);
    const bias = options.bias ? [buf(options.bias)] : [];
    if (!plan.reduce) {
      this.run(plan.kernel, [a, b], [out.storage, buf(a), buf(b), ...bias], plan.params, plan.grid);
      return out;
    }
    const partial = this.alloc(op, [plan.slices, ...d.outShape]);
    this.run(plan.kernel, [a, b], [partial.storage, buf(a), buf(b)], plan.params, plan.grid);
    this.elementwise(plan.reduce.kernel, [a, b], [out.storage, partial.storage, ...bias], plan.reduce.params);
    partial.dispose();
    return out;
  }

  matmulBackward(dOut: Tensor, a: Tensor, b: Tensor, options: MatmulOptions = {}): MatmulGradients {
    return matmulBackward(this, dOut, a, b, options);
  }

  columnSum(x: Tensor): Tensor {
    const { rows, cols } = checkColumnSum(this.name, x);
    const out = this.alloc('columnSum', [cols]);
    this.elementwise(columnSumKernel, [x], [out.storage, buf(x)], [cols, rows]);
    return out;
  }

  embedding(ids: Tensor, table: Tensor): Tensor {
    const { V, C, outShape } = checkEmbedding(this.name, ids, table);
    const out = this.alloc('embedding', outShape);
    this.elementwise(embeddingKernel, [ids, table], [out.storage, buf(ids), buf(table)], [ids.size * C, C, V]);
    return out;
  }

  embeddingBackward(ids: Tensor, dOut: Tensor, vocabSize: number): Tensor {
    const C = checkEmbeddingBackward(this.name, ids, dOut);
    const dTable = this.alloc('embeddingBackward', [vocabSize, C]);
    this.runtime.clear(dTable.storage);
    this.run(embeddingBackwardKernel, [ids, dOut], [dTable.storage, buf(ids), buf(dOut)], [ids.size, C, vocabSize], foldWorkgroups(ids.size));
    return dTable;
  }

  layernorm(x: Tensor, weight: Tensor, bias: Tensor, eps: number): LayernormResult {
    const op = 'layernorm';
    const { rows, cols } = checkLayernorm(this.name, x, weight, bias);
    const out = this.alloc(op, x.shape);
    const mean = this.alloc(op, [rows]);
    const rstd = this.alloc(op, [rows]);
    this.run(layernorm.layernormKernel, [x], [out.storage, mean.storage, rstd.storage, buf(x), buf(weight), buf(bias)], [rows, cols, eps], foldWorkgroups(rows));
    return { out, mean, rstd };
  }

  layernormBackward(dOut: Tensor, x: Tensor, weight: Tensor, mean: Tensor, rstd: Tensor): LayernormGradients {
    const op = 'layernormBackward';
    const { rows, cols } = checkLayernormBackward(this.name, dOut, x, weight, mean, rstd);
    const dx = this.alloc(op, x.shape);
    const dWeight = this.alloc(op, [cols]);
    const dBias = this.alloc(op, [cols]);
    const [db, xb, mb, rb] = [buf(dOut), buf(x), buf(mean), buf(rstd)];
    this.run(layernorm.layernormBackwardKernel, [dOut, x], [dx.storage, db, xb, buf(weight), mb, rb], [rows, cols], foldWorkgroups(rows));
    this.elementwise(layernorm.layernormParamsBackwardKernel, [dOut, x], [dWeight.storage, dBias.storage, db, xb, mb, rb], [cols, rows]);
    return { dx, dWeight, dBias };
  }

  gelu(x: Tensor): Tensor {
    checkGelu(this.name, x);
    const out = this.alloc('gelu', x.shape);
    this.elementwise(geluKernel, [x], [out.storage, buf(x)], [x.size]);
    return out;
  }

  geluBackward(x: Tensor, dOut: Tensor): Tensor {
    checkGeluBackward(this.name, x, dOut);
    const dx = this.alloc('geluBackward', x.shape);
    this.elementwise(geluBackwardKernel, [x, dOut], [dx.storage, buf(x), buf(dOut)], [x.size]);
    return dx;
  }

  attention(qkv: Tensor, heads: number): AttentionResult {
    const op = 'attention';
    const d = checkAttention(this.name, qkv, heads);
    const rows = d.B * heads * d.T;
    const att = this.alloc(op, [d.B, heads, d.T, d.T]);
    const out = this.alloc(op, [d.B, d.T, d.C]);
    this.run(attention.attentionScoresKernel, [qkv], [att.storage, buf(qkv)], [rows, d.T, d.C, heads, d.headSize, 1 / Math.sqrt(d.headSize)], foldWorkgroups(rows));
    this.elementwise(attention.attentionValuesKernel, [qkv], [out.storage, buf(qkv), att.storage], [out.size, d.T, d.C, heads, d.headSize]);
    return { out, att };
  }

  attentionBackward(dOut: Tensor, qkv: Tensor, att: Tensor, heads: number): Tensor {
    const op = 'attentionBackward';
    const d = checkAttentionBackward(this.name, dOut, qkv, att, heads);
    const [db, qb, ab] = [buf(dOut), buf(qkv), buf(att)];
    const rows = d.B * heads * d.T;
    const dPre = this.alloc(op, att.shape);
    const dqkv = this.alloc(op, qkv.shape);
    this.run(attention.attentionSoftmaxBackwardKernel, [dOut, qkv], [dPre.storage, db, qb, ab], [rows, d.T, d.C, heads, d.headSize, 1 / Math.sqrt(d.headSize)], foldWorkgroups(rows));
    this.elementwise(attention.attentionQkvBackwardKernel, [dOut, qkv], [dqkv.storage, db, qb, ab, dPre.storage], [dqkv.size, d.T, d.C, heads, d.headSize]);
    dPre.dispose();
    return dqkv;
  }

  add(a: Tensor, b: Tensor): Tensor {
    checkAdd(this.name, a, b);
    const out = this.alloc('add', a.shape);
    this.elementwise(addKernel, [a, b], [out.storage, buf(a), buf(b)], [a.size]);
    return out;
  }

  accumulate(dst: Tensor, src: Tensor): void {
    checkAccumulate(this.name, dst, src);
    this.elementwise(accumulateKernel, [dst, src], [buf(dst), buf(src)], [dst.size]);
  }

  crossEntropy(logits: Tensor, targets: Tensor): CrossEntropyResult {
    const op = 'crossEntropy';
    const { rows, cols } = checkCrossEntropy(this.name, logits, targets);
    const losses = this.alloc(op, [rows]);
    const probs = this.alloc(op, logits.shape);
    this.run(crossEntropy.crossEntropyKernel, [logits], [losses.storage, probs.storage, buf(logits), buf(targets)], [rows, cols], foldWorkgroups(rows));
    return { losses, probs };
  }

  crossEntropyBackward(probs: Tensor, targets: Tensor, dLoss: number): Tensor {
    const { cols } = checkCrossEntropyBackward(this.name, probs, targets);
    const dLogits = this.alloc('crossEntropyBackward', probs.shape);
    this.elementwise(crossEntropy.crossEntropyBackwardKernel, [probs], [dLogits.storage, buf(probs), buf(targets)], [probs.size, cols, dLoss]);
    return dLogits;
  }

  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, hp: AdamWParameters): void {
    checkAdamw(this.name, param, grad, m, v);
    const s = adamwScalars(hp);
    this.elementwise(adamwKernel, [param], [buf(param), buf(grad), buf(m), buf(v)], [param.size, s.lr, s.beta1, s.beta2, s.eps, s.decay, s.correction1, s.correction2]);
  }
}
