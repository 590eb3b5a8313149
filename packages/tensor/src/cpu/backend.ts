import type {
  AdamWParameters, AttentionResult, Backend, CrossEntropyResult, LayernormGradients, LayernormResult,
  MatmulGradients, MatmulOptions,
} from '../backend.ts';
import {
  attentionDims, embeddingDims, expectSameShape, expectShape, expectSize, expectTensor, expectValidShape, matmulDims, rowsAndCols,
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

  private f32(op: string, name: string, t: Tensor): FloatArray {
    expectTensor(op, name, t, this.name, 'f32');
    return (t as CpuTensor).storage.data as FloatArray;
  }

  private i32(op: string, name: string, t: Tensor): Int32Array {
    expectTensor(op, name, t, this.name, 'i32');
    return (t as CpuTensor).storage.data as Int32Array;
  }

  upload(data: TensorData | Float64Array, shape: Shape): Tensor {
    expectValidShape('upload', shape);
    expectSize('upload', shape, data.length);
    const t = this.make(shape, data instanceof Int32Array ? 'i32' : 'f32');
    t.storage.data.set(data);
    return t;
  }

  zeros(shape: Shape, dtype: DType = 'f32'): Tensor {
    expectValidShape('zeros', shape);
    return this.make(shape, dtype);
  }

  reshape(t: Tensor, shape: Shape): Tensor {
    expectTensor('reshape', 't', t, this.name, t.dtype);
    expectValidShape('reshape', shape);
    expectSize('reshape', shape, t.size);
    t.storage.refs += 1;
    return new Tensor(this.name, [...shape], t.dtype, (t as CpuTensor).storage);
  }

  async read(t: Tensor): Promise<TensorData> {
    expectTensor('read', 't', t, this.name, t.dtype);
    const data = (t as CpuTensor).storage.data;
    return data instanceof Float64Array ? Float32Array.from(data) : data.slice();
  }

  /** The exact values of a float tensor, at this backend's precision. */
  readFloat64(t: Tensor): Float64Array {
    return Float64Array.from(this.f32('readFloat64', 't', t));
  }

  async sync(): Promise<void> {}

  destroy(): void {}

  readonly lost = false;

  matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
    const op = 'matmul';
    const av = this.f32(op, 'a', a);
    const bv = this.f32(op, 'b', b);
    const bias = options.bias ? this.f32(op, 'bias', options.bias) : null;
    const d = matmulDims(a, b, options);
    const out = this.make(d.outShape);
    matmulForward(out.storage.data as FloatArray, av, bv, bias, {
      ...d, transA: !!options.transA, transB: !!options.transB,
    });
    return out;
  }

  matmulBackward(dOut: Tensor, a: Tensor, b: Tensor, options: MatmulOptions = {}): MatmulGradients {
    return matmulBackward(this, dOut, a, b, options);
  }

  columnSum(x: Tensor): Tensor {
    const xv = this.f32('columnSum', 'x', x);
    const { rows, cols } = rowsAndCols('columnSum', 'x', x);
    const out = this.make([cols]);
    columnSum(out.storage.data as FloatArray, xv, rows, cols);
    return out;
  }

  embedding(ids: Tensor, table: Tensor): Tensor {
    const idv = this.i32('embedding', 'ids', ids);
    const tv = this.f32('embedding', 'table', table);
    const { V, C, outShape } = embeddingDims('embedding', ids, table);
    const out = this.make(outShape);
    embedding.embeddingForward(out.storage.data as FloatArray, idv, tv, ids.size, V, C);
    return out;
  }

  embeddingBackward(ids: Tensor, dOut: Tensor, vocabSize: number): Tensor {
    const idv = this.i32('embeddingBackward', 'ids', ids);
    const dv = this.f32('embeddingBackward', 'dOut', dOut);
    const C = dOut.shape[dOut.shape.length - 1];
    expectShape('embeddingBackward', 'dOut', dOut, [...ids.shape, C]);
    const dTable = this.make([vocabSize, C]);
    embedding.embeddingBackward(dTable.storage.data as FloatArray, idv, dv, ids.size, vocabSize, C);
    return dTable;
  }

  layernorm(x: Tensor, weight: Tensor, bias: Tensor, eps: number): LayernormResult {
    const op = 'layernorm';
    const xv = this.f32(op, 'x', x);
    const { rows, cols } = rowsAndCols(op, 'x', x);
    expectShape(op, 'weight', weight, [cols]);
    expectShape(op, 'bias', bias, [cols]);
    const out = this.make(x.shape);
    const mean = this.make([rows]);
    const rstd = this.make([rows]);
    layernorm.layernormForward(
      out.storage.data as FloatArray, mean.storage.data as FloatArray, rstd.storage.data as FloatArray,
      xv, this.f32(op, 'weight', weight), this.f32(op, 'bias', bias), rows, cols, eps,
    );
    return { out, mean, rstd };
  }

  layernormBackward(dOut: Tensor, x: Tensor, weight: Tensor, mean: Tensor, rstd: Tensor): LayernormGradients {
    const op = 'layernormBackward';
    const { rows, cols } = rowsAndCols(op, 'x', x);
    expectSameShape(op, x, dOut, ['x', 'dOut']);
    expectShape(op, 'mean', mean, [rows]);
    expectShape(op, 'rstd', rstd, [rows]);
    const dx = this.make(x.shape);
    const dWeight = this.make([cols]);
    const dBias = this.make([cols]);
    layernorm.layernormBackward(
      dx.storage.data as FloatArray, dWeight.storage.data as FloatArray, dBias.storage.data as FloatArray,
      this.f32(op, 'dOut', dOut), this.f32(op, 'x', x), this.f32(op, 'weight', weight),
      this.f32(op, 'mean', mean), this.f32(op, 'rstd', rstd), rows, cols,
    );
    return { dx, dWeight, dBias };
  }

  gelu(x: Tensor): Tensor {
    const out = this.make(x.shape);
    gelu.geluForward(out.storage.data as FloatArray, this.f32('gelu', 'x', x));
    return out;
  }

  geluBackward(x: Tensor, dOut: Tensor): Tensor {
    expectSameShape('geluBackward', x, dOut, ['x', 'dOut']);
    const dx = this.make(x.shape);
    gelu.geluBackward(dx.storage.data as FloatArray, this.f32('geluBackward', 'x', x), this.f32('geluBackward', 'dOut', dOut));
    return dx;
  }

  attention(qkv: Tensor, heads: number): AttentionResult {
    const d = attentionDims('attention', qkv, heads);
    const out = this.make([d.B, d.T, d.C]);
    const att = this.make([d.B, heads, d.T, d.T]);
    attention.attentionForward(out.storage.data as FloatArray, att.storage.data as FloatArray, this.f32('attention', 'qkv', qkv), d);
    return { out, att };
  }

  attentionBackward(dOut: Tensor, qkv: Tensor, att: Tensor, heads: number): Tensor {
    const op = 'attentionBackward';
    const d = attentionDims(op, qkv, heads);
    expectShape(op, 'dOut', dOut, [d.B, d.T, d.C]);
    expectShape(op, 'att', att, [d.B, heads, d.T, d.T]);
    const dqkv = this.make(qkv.shape);
    attention.attentionBackward(
      dqkv.storage.data as FloatArray, this.f32(op, 'dOut', dOut), this.f32(op, 'qkv', qkv), this.f32(op, 'att', att), d,
    );
    return dqkv;
  }

  add(a: Tensor, b: Tensor): Tensor {
    expectSameShape('add', a, b);
    const out = this.make(a.shape);
    addForward(out.storage.data as FloatArray, this.f32('add', 'a', a), this.f32('add', 'b', b));
    return out;
  }

  accumulate(dst: Tensor, src: Tensor): void {
    expectSameShape('accumulate', dst, src, ['dst', 'src']);
    accumulate(this.f32('accumulate', 'dst', dst), this.f32('accumulate', 'src', src));
  }

  crossEntropy(logits: Tensor, targets: Tensor): CrossEntropyResult {
    const op = 'crossEntropy';
    const { rows, cols } = rowsAndCols(op, 'logits', logits);
    expectShape(op, 'targets', targets, [rows]);
    const losses = this.make([rows]);
    const probs = this.make(logits.shape);
    crossEntropy.crossEntropyForward(
      losses.storage.data as FloatArray, probs.storage.data as FloatArray,
      this.f32(op, 'logits', logits), this.i32(op, 'targets', targets), rows, cols,
    );
    return { losses, probs };
  }

  crossEntropyBackward(probs: Tensor, targets: Tensor, dLoss: number): Tensor {
    const op = 'crossEntropyBackward';
    const { rows, cols } = rowsAndCols(op, 'probs', probs);
    expectShape(op, 'targets', targets, [rows]);
    const dLogits = this.make(probs.shape);
    crossEntropy.crossEntropyBackward(
      dLogits.storage.data as FloatArray, this.f32(op, 'probs', probs), this.i32(op, 'targets', targets), dLoss, rows, cols,
    );
    return dLogits;
  }

  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, hp: AdamWParameters): void {
    const op = 'adamw';
    expectSameShape(op, param, grad, ['param', 'grad']);
    expectSameShape(op, param, m, ['param', 'm']);
    expectSameShape(op, param, v, ['param', 'v']);
    adamwStep(this.f32(op, 'param', param), this.f32(op, 'grad', grad), this.f32(op, 'm', m), this.f32(op, 'v', v), hp);
  }
}
