import type {
  AdamWParameters, AttentionResult, Backend, CrossEntropyResult, LayernormGradients, LayernormResult,
  MatmulGradients, MatmulOptions,
} from '../backend.ts';
import {
  attentionDims, embeddingDims, expectSameShape, expectShape, expectSize, expectTensor, expectValidShape, matmulDims, rowsAndCols,
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
import { MATMUL_TILE_M, MATMUL_TILE_N, matmulKernel } from '../ops/matmul.wgsl.ts';
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

  private use(op: string, name: string, t: Tensor, dtype: DType = 'f32'): Binding {
    expectTensor(op, name, t, this.name, dtype);
    return (t as GpuTensor).storage;
  }

  private run(kernel: Kernel, inputs: readonly Tensor[], bindings: Binding[], params: number[], workgroups: [number, number, number]): void {
    this.runtime.dispatch(kernel, `${kernel.name} ${describe(inputs)}`, bindings, params, workgroups);
  }

  /** One thread per element over n elements. */
  private elementwise(kernel: Kernel, inputs: readonly Tensor[], bindings: Binding[], params: number[]): void {
    this.run(kernel, inputs, bindings, params, foldWorkgroups(Math.ceil(params[0] / WORKGROUP_THREADS)));
  }

  upload(data: TensorData | Float64Array, shape: Shape): Tensor {
    expectValidShape('upload', shape);
    expectSize('upload', shape, data.length);
    const t = this.alloc('upload', shape, data instanceof Int32Array ? 'i32' : 'f32');
    this.runtime.write(t.storage.buffer, data instanceof Float64Array ? Float32Array.from(data) : data);
    return t;
  }

  zeros(shape: Shape, dtype: DType = 'f32'): Tensor {
    expectValidShape('zeros', shape);
    const t = this.alloc('zeros', shape, dtype);
    this.runtime.clear(t.storage);
    return t;
  }

  reshape(t: Tensor, shape: Shape): Tensor {
    expectTensor('reshape', 't', t, this.name, t.dtype);
    expectValidShape('reshape', shape);
    expectSize('reshape', shape, t.size);
    t.storage.refs += 1;
    return new Tensor(this.name, [...shape], t.dtype, (t as GpuTensor).storage);
  }

  async read(t: Tensor): Promise<TensorData> {
    const bytes = await this.runtime.readBytes('read', this.use('read', 't', t, t.dtype));
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
    this.run(kernel, tensors, tensors.map((t, i) => this.use(kernel.name, kernel.bindings[i]?.name ?? `#${i}`, t, t.dtype)), params, workgroups);
  }

  matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
    const op = 'matmul';
    const bindings = [this.use(op, 'a', a), this.use(op, 'b', b)];
    if (options.bias) bindings.push(this.use(op, 'bias', options.bias));
    const d = matmulDims(a, b, options);
    const out = this.alloc(op, d.outShape);
    const kernel = matmulKernel({ transA: !!options.transA, transB: !!options.transB, bias: !!options.bias });
    const strideB = d.sharedB ? 0 : d.K * d.N;
    const grid: [number, number, number] = [Math.ceil(d.N / MATMUL_TILE_N), Math.ceil(d.M / MATMUL_TILE_M), d.batch];
    const limit = this.device.limits.maxComputeWorkgroupsPerDimension;
    if (grid.some((g) => g > limit)) {
      out.dispose();
      throw new TensorShapeError(op, `${d.batch}×[${d.M},${d.N}] needs a workgroup grid of ${formatShape(grid)}, above this adapter's ${limit} per dimension`);
    }
    this.run(kernel, [a, b], [out.storage, ...bindings], [d.M, d.N, d.K, d.M * d.K, strideB], grid);
    return out;
  }

  matmulBackward(dOut: Tensor, a: Tensor, b: Tensor, options: MatmulOptions = {}): MatmulGradients {
    return matmulBackward(this, dOut, a, b, options);
  }

  columnSum(x: Tensor): Tensor {
    const xb = this.use('columnSum', 'x', x);
    const { rows, cols } = rowsAndCols('columnSum', 'x', x);
    const out = this.alloc('columnSum', [cols]);
    this.elementwise(columnSumKernel, [x], [out.storage, xb], [cols, rows]);
    return out;
  }

  embedding(ids: Tensor, table: Tensor): Tensor {
    const op = 'embedding';
    const bindings = [this.use(op, 'ids', ids, 'i32'), this.use(op, 'table', table)];
    const { V, C, outShape } = embeddingDims(op, ids, table);
    const out = this.alloc(op, outShape);
    this.elementwise(embeddingKernel, [ids, table], [out.storage, ...bindings], [ids.size * C, C, V]);
    return out;
  }

  embeddingBackward(ids: Tensor, dOut: Tensor, vocabSize: number): Tensor {
    const op = 'embeddingBackward';
    const bindings = [this.use(op, 'ids', ids, 'i32'), this.use(op, 'dOut', dOut)];
    const C = dOut.shape[dOut.shape.length - 1];
    expectShape(op, 'dOut', dOut, [...ids.shape, C]);
    const dTable = this.alloc(op, [vocabSize, C]);
    this.runtime.clear(dTable.storage);
    this.run(embeddingBackwardKernel, [ids, dOut], [dTable.storage, ...bindings], [ids.size, C, vocabSize], foldWorkgroups(ids.size));
    return dTable;
  }

  layernorm(x: Tensor, weight: Tensor, bias: Tensor, eps: number): LayernormResult {
    const op = 'layernorm';
    const { rows, cols } = rowsAndCols(op, 'x', x);
    expectShape(op, 'weight', weight, [cols]);
    expectShape(op, 'bias', bias, [cols]);
    const inputs = [this.use(op, 'x', x), this.use(op, 'weight', weight), this.use(op, 'bias', bias)];
    const out = this.alloc(op, x.shape);
    const mean = this.alloc(op, [rows]);
    const rstd = this.alloc(op, [rows]);
    this.run(layernorm.layernormKernel, [x], [out.storage, mean.storage, rstd.storage, ...inputs], [rows, cols, eps], foldWorkgroups(rows));
    return { out, mean, rstd };
  }

  layernormBackward(dOut: Tensor, x: Tensor, weight: Tensor, mean: Tensor, rstd: Tensor): LayernormGradients {
    const op = 'layernormBackward';
    const { rows, cols } = rowsAndCols(op, 'x', x);
    expectSameShape(op, x, dOut, ['x', 'dOut']);
    expectShape(op, 'weight', weight, [cols]);
    expectShape(op, 'mean', mean, [rows]);
    expectShape(op, 'rstd', rstd, [rows]);
    const [db, xb, wb, mb, rb] = [
      this.use(op, 'dOut', dOut), this.use(op, 'x', x), this.use(op, 'weight', weight), this.use(op, 'mean', mean), this.use(op, 'rstd', rstd),
    ];
    const dx = this.alloc(op, x.shape);
    const dWeight = this.alloc(op, [cols]);
    const dBias = this.alloc(op, [cols]);
    this.run(layernorm.layernormBackwardKernel, [dOut, x], [dx.storage, db, xb, wb, mb, rb], [rows, cols], foldWorkgroups(rows));
    this.elementwise(layernorm.layernormParamsBackwardKernel, [dOut, x], [dWeight.storage, dBias.storage, db, xb, mb, rb], [cols, rows]);
    return { dx, dWeight, dBias };
  }

  gelu(x: Tensor): Tensor {
    const xb = this.use('gelu', 'x', x);
    const out = this.alloc('gelu', x.shape);
    this.elementwise(geluKernel, [x], [out.storage, xb], [x.size]);
    return out;
  }

  geluBackward(x: Tensor, dOut: Tensor): Tensor {
    const op = 'geluBackward';
    expectSameShape(op, x, dOut, ['x', 'dOut']);
    const inputs = [this.use(op, 'x', x), this.use(op, 'dOut', dOut)];
    const dx = this.alloc(op, x.shape);
    this.elementwise(geluBackwardKernel, [x, dOut], [dx.storage, ...inputs], [x.size]);
    return dx;
  }

  attention(qkv: Tensor, heads: number): AttentionResult {
    const op = 'attention';
    const qb = this.use(op, 'qkv', qkv);
    const d = attentionDims(op, qkv, heads);
    const rows = d.B * heads * d.T;
    const att = this.alloc(op, [d.B, heads, d.T, d.T]);
    const out = this.alloc(op, [d.B, d.T, d.C]);
    this.run(attention.attentionScoresKernel, [qkv], [att.storage, qb],
      [rows, d.T, d.C, heads, d.headSize, 1 / Math.sqrt(d.headSize)], foldWorkgroups(rows));
    this.elementwise(attention.attentionValuesKernel, [qkv], [out.storage, qb, att.storage], [out.size, d.T, d.C, heads, d.headSize]);
    return { out, att };
  }

  attentionBackward(dOut: Tensor, qkv: Tensor, att: Tensor, heads: number): Tensor {
    const op = 'attentionBackward';
    const d = attentionDims(op, qkv, heads);
    expectShape(op, 'dOut', dOut, [d.B, d.T, d.C]);
    expectShape(op, 'att', att, [d.B, heads, d.T, d.T]);
    const [db, qb, ab] = [this.use(op, 'dOut', dOut), this.use(op, 'qkv', qkv), this.use(op, 'att', att)];
    const rows = d.B * heads * d.T;
    const dPre = this.alloc(op, att.shape);
    const dqkv = this.alloc(op, qkv.shape);
    this.run(attention.attentionSoftmaxBackwardKernel, [dOut, qkv], [dPre.storage, db, qb, ab],
      [rows, d.T, d.C, heads, d.headSize, 1 / Math.sqrt(d.headSize)], foldWorkgroups(rows));
    this.elementwise(attention.attentionQkvBackwardKernel, [dOut, qkv], [dqkv.storage, db, qb, ab, dPre.storage],
      [dqkv.size, d.T, d.C, heads, d.headSize]);
    dPre.dispose();
    return dqkv;
  }

  add(a: Tensor, b: Tensor): Tensor {
    expectSameShape('add', a, b);
    const inputs = [this.use('add', 'a', a), this.use('add', 'b', b)];
    const out = this.alloc('add', a.shape);
    this.elementwise(addKernel, [a, b], [out.storage, ...inputs], [a.size]);
    return out;
  }

  accumulate(dst: Tensor, src: Tensor): void {
    expectSameShape('accumulate', dst, src, ['dst', 'src']);
    this.elementwise(accumulateKernel, [dst, src], [this.use('accumulate', 'dst', dst), this.use('accumulate', 'src', src)], [dst.size]);
  }

  crossEntropy(logits: Tensor, targets: Tensor): CrossEntropyResult {
    const op = 'crossEntropy';
    const { rows, cols } = rowsAndCols(op, 'logits', logits);
    expectShape(op, 'targets', targets, [rows]);
    const inputs = [this.use(op, 'logits', logits), this.use(op, 'targets', targets, 'i32')];
    const losses = this.alloc(op, [rows]);
    const probs = this.alloc(op, logits.shape);
    this.run(crossEntropy.crossEntropyKernel, [logits], [losses.storage, probs.storage, ...inputs], [rows, cols], foldWorkgroups(rows));
    return { losses, probs };
  }

  crossEntropyBackward(probs: Tensor, targets: Tensor, dLoss: number): Tensor {
    const op = 'crossEntropyBackward';
    const { rows, cols } = rowsAndCols(op, 'probs', probs);
    expectShape(op, 'targets', targets, [rows]);
    const inputs = [this.use(op, 'probs', probs), this.use(op, 'targets', targets, 'i32')];
    const dLogits = this.alloc(op, probs.shape);
    this.elementwise(crossEntropy.crossEntropyBackwardKernel, [probs], [dLogits.storage, ...inputs], [probs.size, cols, dLoss]);
    return dLogits;
  }

  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, hp: AdamWParameters): void {
    const op = 'adamw';
    expectSameShape(op, param, grad, ['param', 'grad']);
    expectSameShape(op, param, m, ['param', 'm']);
    expectSameShape(op, param, v, ['param', 'v']);
    const s = adamwScalars(hp);
    this.elementwise(adamwKernel, [param], [this.use(op, 'param', param), this.use(op, 'grad', grad), this.use(op, 'm', m), this.use(op, 'v', v)],
      [param.size, s.lr, s.beta1, s.beta2, s.eps, s.decay, s.correction1, s.correction2]);
  }
}
