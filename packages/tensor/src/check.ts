import { TensorShapeError } from './errors.ts';
import { formatShape, sizeOf, type DType, type Shape, type Tensor } from './tensor.ts';
import type { MatmulOptions } from './backend.ts';

/**
 * Validation shared by every backend, so both refuse the same inputs with the same words: each op
 * has one `check<Op>` function that every backend calls before it computes anything. Each checks
 * the tensors (disposed, backend, dtype) in argument order first, then their shapes.
 */

export function expectTensor(op: string, name: string, t: Tensor, backend: string, dtype: DType = 'f32'): void {
  if (t.disposed) throw new TensorShapeError(op, `tensor '${name}' ${t} was already disposed`);
  if (t.backend !== backend) {
    throw new TensorShapeError(op, `tensor '${name}' lives on backend '${t.backend}', expected '${backend}'`);
  }
  if (t.dtype !== dtype) throw new TensorShapeError(op, `tensor '${name}' has dtype ${t.dtype}, expected ${dtype}`);
}

function expectShape(op: string, name: string, t: Tensor, shape: Shape): void {
  const same = t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
  if (!same) {
    throw new TensorShapeError(op, `tensor '${name}' has shape ${formatShape(t.shape)}, expected ${formatShape(shape)}`);
  }
}

function expectValidShape(op: string, shape: Shape): void {
  if (shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new TensorShapeError(op, `shape ${formatShape(shape)} must be non-empty with positive integer dims`);
  }
}

export interface RowsAndCols {
  rows: number;
  cols: number;
}

/** Rows × last dim: x [..., C] is treated as [N, C]. */
function rowsAndCols(op: string, name: string, t: Tensor): RowsAndCols {
  if (t.shape.length < 1) throw new TensorShapeError(op, `tensor '${name}' must have at least one dim`);
  const cols = t.shape[t.shape.length - 1];
  return { rows: t.size / cols, cols };
}

export interface MatmulDims {
  /** Number of independent products; b is shared across them when `sharedB`. */
  batch: number;
  sharedB: boolean;
  M: number;
  K: number;
  N: number;
  outShape: Shape;
}

export function matmulDims(a: Tensor, b: Tensor, options: MatmulOptions = {}): MatmulDims {
  const op = 'matmul';
  if (a.shape.length < 2 || a.shape.length > 3) {
    throw new TensorShapeError(op, `tensor 'a' has shape ${formatShape(a.shape)}, expected rank 2 or 3`);
  }
  if (b.shape.length < 2 || b.shape.length > 3) {
    throw new TensorShapeError(op, `tensor 'b' has shape ${formatShape(b.shape)}, expected rank 2 or 3`);
  }
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const [M, K] = options.transA ? [ac, ar] : [ar, ac];
  const [Kb, N] = options.transB ? [bc, br] : [br, bc];
  if (K !== Kb) {
    throw new TensorShapeError(op, `inner dims differ: a ${formatShape(a.shape)}${options.transA ? 'ᵀ' : ''} has K=${K}, ` + `b ${formatShape(b.shape)}${options.transB ? 'ᵀ' : ''} has K=${Kb}`);
  }
  const batchA = a.shape.length === 3 ? a.shape[0] : 1;
  const sharedB = b.shape.length === 2;
  if (!sharedB && (a.shape.length !== 3 || b.shape[0] !== batchA)) {
    throw new TensorShapeError(op, `batched b ${formatShape(b.shape)} needs a of shape [${b.shape[0]},M,K], got ${formatShape(a.shape)}`);
  }
  if (options.bias && (options.bias.shape.length !== 1 || options.bias.shape[0] !== N)) {
    throw new TensorShapeError(op, `tensor 'bias' has shape ${formatShape(options.bias.shape)}, expected [${N}]`);
  }
  const outShape = a.shape.length === 3 ? [batchA, M, N] : [M, N];
  return { batch: batchA, sharedB, M, K, N, outShape };
}

export interface AttentionDims {
  B: number;
  T: number;
  C: number;
  heads: number;
  headSize: number;
}

function attentionDims(op: string, qkv: Tensor, heads: number): AttentionDims {
  if (qkv.shape.length !== 3 || qkv.shape[2] % 3 !== 0) {
    throw new TensorShapeError(op, `tensor 'qkv' has shape ${formatShape(qkv.shape)}, expected [B,T,3C]`);
  }
  const [B, T, C3] = qkv.shape;
  const C = C3 / 3;
  if (!Number.isInteger(heads) || heads < 1 || C % heads !== 0) {
    throw new TensorShapeError(op, `${heads} heads do not divide the channel count C=${C}`);
  }
  return { B, T, C, heads, headSize: C / heads };
}

function expectSameShape(op: string, a: Tensor, b: Tensor, names: [string, string] = ['a', 'b']): void {
  expectShape(op, names[1], b, a.shape);
}

function expectSize(op: string, shape: Shape, size: number): void {
  if (sizeOf(shape) !== size) {
    throw new TensorShapeError(op, `shape ${formatShape(shape)} holds ${sizeOf(shape)} elements, data has ${size}`);
  }
}

/** ids: i32 [...]; table: [V, C]. */
function embeddingDims(op: string, ids: Tensor, table: Tensor): { V: number; C: number; outShape: Shape } {
  if (table.shape.length !== 2) {
    throw new TensorShapeError(op, `tensor 'table' has shape ${formatShape(table.shape)}, expected [V,C]`);
  }
  const [V, C] = table.shape;
  return { V, C, outShape: [...ids.shape, C] };
}

/** Each named tensor is live, on `backend`, and f32; in the order given. */
function expectFloats(op: string, backend: string, tensors: Record<string, Tensor>): void {
  for (const [name, t] of Object.entries(tensors)) expectTensor(op, name, t, backend);
}

export function checkUpload(shape: Shape, length: number): void {
  expectValidShape('upload', shape);
  expectSize('upload', shape, length);
}

export function checkZeros(shape: Shape): void {
  expectValidShape('zeros', shape);
}

export function checkReshape(backend: string, t: Tensor, shape: Shape): void {
  expectTensor('reshape', 't', t, backend, t.dtype);
  expectValidShape('reshape', shape);
  expectSize('reshape', shape, t.size);
}

export function checkRead(backend: string, t: Tensor): void {
  expectTensor('read', 't', t, backend, t.dtype);
}

/** a, b (and bias) f32; see matmulDims. */
export function checkMatmul(backend: string, a: Tensor, b: Tensor, options: MatmulOptions = {}): MatmulDims {
  expectFloats('matmul', backend, options.bias ? { a, b, bias: options.bias } : { a, b });
  return matmulDims(a, b, options);
}

/** x [R, C] → [C]. */
export function checkColumnSum(backend: string, x: Tensor): RowsAndCols {
  expectFloats('columnSum', backend, { x });
  return rowsAndCols('columnSum', 'x', x);
}

/** ids i32 [...], table [V, C]. */
export function checkEmbedding(backend: string, ids: Tensor, table: Tensor): { V: number; C: number; outShape: Shape } {
  expectTensor('embedding', 'ids', ids, backend, 'i32');
  expectFloats('embedding', backend, { table });
  return embeddingDims('embedding', ids, table);
}

/** ids i32 [...], dOut [..., C]; returns C. */
export function checkEmbeddingBackward(backend: string, ids: Tensor, dOut: Tensor): number {
  const op = 'embeddingBackward';
  expectTensor(op, 'ids', ids, backend, 'i32');
  expectFloats(op, backend, { dOut });
  const C = dOut.shape[dOut.shape.length - 1];
  expectShape(op, 'dOut', dOut, [...ids.shape, C]);
  return C;
}

/** x [N, C], weight [C], bias [C]. */
export function checkLayernorm(backend: string, x: Tensor, weight: Tensor, bias: Tensor): RowsAndCols {
  const op = 'layernorm';
  expectFloats(op, backend, { x, weight, bias });
  const { rows, cols } = rowsAndCols(op, 'x', x);
  expectShape(op, 'weight', weight, [cols]);
  expectShape(op, 'bias', bias, [cols]);
  return { rows, cols };
}

/** dOut and x [N, C], weight [C], mean and rstd [N]. */
export function checkLayernormBackward(backend: string, dOut: Tensor, x: Tensor, weight: Tensor, mean: Tensor, rstd: Tensor): RowsAndCols {
  const op = 'layernormBackward';
  expectFloats(op, backend, { dOut, x, weight, mean, rstd });
  const { rows, cols } = rowsAndCols(op, 'x', x);
  expectSameShape(op, x, dOut, ['x', 'dOut']);
  expectShape(op, 'weight', weight, [cols]);
  expectShape(op, 'mean', mean, [rows]);
  expectShape(op, 'rstd', rstd, [rows]);
  return { rows, cols };
}

export function checkGelu(backend: string, x: Tensor): void {
  expectFloats('gelu', backend, { x });
}

/** x and dOut of one shape. */
export function checkGeluBackward(backend: string, x: Tensor, dOut: Tensor): void {
  expectFloats('geluBackward', backend, { x, dOut });
  expectSameShape('geluBackward', x, dOut, ['x', 'dOut']);
}

/** qkv [B, T, 3C]. */
export function checkAttention(backend: string, qkv: Tensor, heads: number): AttentionDims {
  expectFloats('attention', backend, { qkv });
  return attentionDims('attention', qkv, heads);
}

/** dOut [B, T, C], qkv [B, T, 3C], att [B, H, T, T]. */
export function checkAttentionBackward(backend: string, dOut: Tensor, qkv: Tensor, att: Tensor, heads: number): AttentionDims {
  const op = 'attentionBackward';
  expectFloats(op, backend, { dOut, qkv, att });
  const d = attentionDims(op, qkv, heads);
  expectShape(op, 'dOut', dOut, [d.B, d.T, d.C]);
  expectShape(op, 'att', att, [d.B, heads, d.T, d.T]);
  return d;
}

/** a and b of one shape. */
export function checkAdd(backend: string, a: Tensor, b: Tensor): void {
  expectFloats('add', backend, { a, b });
  expectSameShape('add', a, b);
}

/** dst and src of one shape. */
export function checkAccumulate(backend: string, dst: Tensor, src: Tensor): void {
  expectFloats('accumulate', backend, { dst, src });
  expectSameShape('accumulate', dst, src, ['dst', 'src']);
}

/** logits [N, V], targets i32 [N]. */
export function checkCrossEntropy(backend: string, logits: Tensor, targets: Tensor): RowsAndCols {
  return checkRowTargets('crossEntropy', backend, 'logits', logits, targets);
}

/** probs [N, V], targets i32 [N]. */
export function checkCrossEntropyBackward(backend: string, probs: Tensor, targets: Tensor): RowsAndCols {
  return checkRowTargets('crossEntropyBackward', backend, 'probs', probs, targets);
}

function checkRowTargets(op: string, backend: string, name: string, rowsOf: Tensor, targets: Tensor): RowsAndCols {
  expectFloats(op, backend, { [name]: rowsOf });
  expectTensor(op, 'targets', targets, backend, 'i32');
  const { rows, cols } = rowsAndCols(op, name, rowsOf);
  expectShape(op, 'targets', targets, [rows]);
  return { rows, cols };
}

/** param, grad, m and v of one shape. */
export function checkAdamw(backend: string, param: Tensor, grad: Tensor, m: Tensor, v: Tensor): void {
  const op = 'adamw';
  expectFloats(op, backend, { param, grad, m, v });
  expectSameShape(op, param, grad, ['param', 'grad']);
  expectSameShape(op, param, m, ['param', 'm']);
  expectSameShape(op, param, v, ['param', 'v']);
}
