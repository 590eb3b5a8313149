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
import { matmulBackward } from '../matmul-backward.ts';
import { adamwStep } from '../ops/adamw.cpu.ts';
import * as attention from '../ops/attention.cpu.ts';
import * as crossEntropy from '../ops/crossentropy.cpu.ts';
import { accumulate, addForward } from '../ops/elementwise.cpu.ts';
import * as embedding from '../ops/embedding.cpu.ts';
import * as gelu from '../ops/gelu.cpu.ts';
import * as layernorm from '../ops/layernorm.cpu.ts';
import { columnSum, matmulForward } from '../ops/matmul.cpu.ts';
import { Tensor, sizeOf, type DType, type FloatArray, type Shape, type TensorData, type TensorStorage } from '../tensor.ts';

type CpuData = FloatArray | Int32Array;

class CpuStorage implements TensorStorage {
  refs = 1;
  constructor(public data: CpuData) {}
  release(): void {
    this.data = new Float32Array(0);
  }
}

type CpuTensor = Tensor<CpuStorage>;

/** The values of a float tensor this backend made or its op's check accepted. */
const floats = (t: Tensor): FloatArray => (t as CpuTensor).storage.data as FloatArray;
/** The values of an i32 tensor its op's check accepted. */
const ints = (t: Tensor): Int32Array => (t as CpuTensor).storage.data as Int32Array;

export interface CpuBackendOptions {
  /**
   * 'f64' keeps float tensors in Float64Array: for finite-difference checks of the kernels,
   * not for training. Their dtype still reads 'f32' (the kind of number, not its width).
   */
  precision?: 'f32' | 'f64';
}

/** The reference backend: plain TypeScript over typed arrays, synchronous, easy to read. */
export class CpuBackend implements Backend {
  readonly name = 'cpu' as const;
  private readonly precision: 'f32' | 'f64';

  constructor(options: CpuBackendOptions = {}) {
    this.precision = options.precision ?? 'f32';
  }

  private make(shape: Shape, dtype: DType = 'f32'): CpuTensor {
    const n = sizeOf(shape);
    const data = dtype === 'i32' ? new Int32Array(n) : this.precision === 'f64' ? new Float64Array(n) : new Float32Array(n);
    return new Tensor(this.name, [...shape], dtype, new CpuStorage(data));
  }

  upload(data: TensorData | Float64Array, shape: Shape): Tensor {
    checkUpload(shape, data.length);
    const t = this.make(shape, data instanceof Int32Array ? 'i32' : 'f32');
    t.storage.data.set(data);
    return t;
  }

  zeros(shape: Shape, dtype: DType = 'f32'): Tensor {
    checkZeros(shape);
    return this.make(shape, dtype);
  }

  reshape(t: Tensor, shape: Shape): Tensor {
    checkReshape(this.name, t, shape);
    t.storage.refs += 1;
    return new Tensor(this.name, [...shape], t.dtype, (t as CpuTensor).storage);
  }

  async read(t: Tensor): Promise<TensorData> {
    checkRead(this.name, t);
    const data = (t as CpuTensor).storage.data;
    return data instanceof Float64Array ? Float32Array.from(data) : data.slice();
  }

  /** The exact values of a float tensor, at this backend's precision. */
  readFloat64(t: Tensor): Float64Array {
    expectTensor('readFloat64', 't', t, this.name);
    return Float64Array.from(floats(t));
  }

  async sync(): Promise<void> {}

  destroy(): void {}

  readonly lost = false;

  matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
    const d = checkMatmul(this.name, a, b, options);
    const y = this.make(d.outShape);
    matmulForward(floats(y), floats(a), floats(b), options.bias ? floats(options.bias) : null, {
      ...d,
      transA: !!options.transA,
      transB: !!options.transB,
    });
    return y;
  }

  matmulBackward(dOut: Tensor, a: Tensor, b: Tensor, options: MatmulOptions = {}): MatmulGradients {
    return matmulBackward(this, dOut, a, b, options);
  }

  columnSum(x: Tensor): Tensor {
    const { rows, cols } = checkColumnSum(this.name, x);
    const y = this.make([cols]);
    columnSum(floats(y), floats(x), rows, cols);
    return y;
  }

  embedding(ids: Tensor, table: Tensor): Tensor {
    const { V, C, outShape } = checkEmbedding(this.name, ids, table);
    const y = this.make(outShape);
    embedding.embeddingForward(floats(y), ints(ids), floats(table), ids.size, V, C);
    return y;
  }

  embeddingBackward(ids: Tensor, dOut: Tensor, vocabSize: number): Tensor {
    const C = checkEmbeddingBackward(this.name, ids, dOut);
    const dTable = this.make([vocabSize, C]);
    embedding.embeddingBackward(floats(dTable), ints(ids), floats(dOut), ids.size, vocabSize, C);
    return dTable;
  }

  layernorm(x: Tensor, weight: Tensor, bias: Tensor, eps: number): LayernormResult {
    const { rows, cols } = checkLayernorm(this.name, x, weight, bias);
    const y = this.make(x.shape);
    const mean = this.make([rows]);
    const rstd = this.make([rows]);
    layernorm.layernormForward(floats(y), floats(mean), floats(rstd), floats(x), floats(weight), floats(bias), rows, cols, eps);
    return { out: y, mean, rstd };
  }

  layernormBackward(dOut: Tensor, x: Tensor, weight: Tensor, mean: Tensor, rstd: Tensor): LayernormGradients {
    const { rows, cols } = checkLayernormBackward(this.name, dOut, x, weight, mean, rstd);
    const dx = this.make(x.shape);
    const dWeight = this.make([cols]);
    const dBias = this.make([cols]);
    layernorm.layernormBackward(floats(dx), floats(dWeight), floats(dBias), floats(dOut), floats(x), floats(weight), floats(mean), floats(rstd), rows, cols);
    return { dx, dWeight, dBias };
  }

  gelu(x: Tensor): Tensor {
    checkGelu(this.name, x);
    const y = this.make(x.shape);
    gelu.geluForward(floats(y), floats(x));
    return y;
  }

  geluBackward(x: Tensor, dOut: Tensor): Tensor {
    checkGeluBackward(this.name, x, dOut);
    const dx = this.make(x.shape);
    gelu.geluBackward(floats(dx), floats(x), floats(dOut));
    return dx;
  }

  attention(qkv: Tensor, heads: number): AttentionResult {
    const d = checkAttention(this.name, qkv, heads);
    const y = this.make([d.B, d.T, d.C]);
    const att = this.make([d.B, heads, d.T, d.T]);
    attention.attentionForward(floats(y), floats(att), floats(qkv), d);
    return { out: y, att };
  }

  attentionBackward(dOut: Tensor, qkv: Tensor, att: Tensor, heads: number): Tensor {
    const d = checkAttentionBackward(this.name, dOut, qkv, att, heads);
    const dqkv = this.make(qkv.shape);
    attention.attentionBackward(floats(dqkv), floats(dOut), floats(qkv), floats(att), d);
    return dqkv;
  }

  add(a: Tensor, b: Tensor): Tensor {
    checkAdd(this.name, a, b);
    const y = this.make(a.shape);
    addForward(floats(y), floats(a), floats(b));
    return y;
  }

  accumulate(dst: Tensor, src: Tensor): void {
    checkAccumulate(this.name, dst, src);
    accumulate(floats(dst), floats(src));
  }

  crossEntropy(logits: Tensor, targets: Tensor): CrossEntropyResult {
    const { rows, cols } = checkCrossEntropy(this.name, logits, targets);
    const losses = this.make([rows]);
    const probs = this.make(logits.shape);
    crossEntropy.crossEntropyForward(floats(losses), floats(probs), floats(logits), ints(targets), rows, cols);
    return { losses, probs };
  }

  crossEntropyBackward(probs: Tensor, targets: Tensor, dLoss: number): Tensor {
    const { rows, cols } = checkCrossEntropyBackward(this.name, probs, targets);
    const dLogits = this.make(probs.shape);
    crossEntropy.crossEntropyBackward(floats(dLogits), floats(probs), ints(targets), dLoss, rows, cols);
    return dLogits;
  }

  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, hp: AdamWParameters): void {
    checkAdamw(this.name, param, grad, m, v);
    adamwStep(floats(param), floats(grad), floats(m), floats(v), hp);
  }
}
