import { TensorShapeError } from './errors.ts';
import { formatShape, sizeOf, type DType, type Shape, type Tensor } from './tensor.ts';
import type { MatmulOptions } from './backend.ts';

/** Validation shared by every backend, so both refuse the same inputs with the same words. */

export function expectTensor(op: string, name: string, t: Tensor, backend: string, dtype: DType = 'f32'): void {
  if (t.disposed) throw new TensorShapeError(op, `tensor '${name}' ${t} was already disposed`);
  if (t.backend !== backend) {
    throw new TensorShapeError(op, `tensor '${name}' lives on backend '${t.backend}', expected '${backend}'`);
  }
  if (t.dtype !== dtype) throw new TensorShapeError(op, `tensor '${name}' has dtype ${t.dtype}, expected ${dtype}`);
}

export function expectShape(op: string, name: string, t: Tensor, shape: Shape): void {
  const same = t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
  if (!same) {
    throw new TensorShapeError(op, `tensor '${name}' has shape ${formatShape(t.shape)}, expected ${formatShape(shape)}`);
  }
}

export function expectValidShape(op: string, shape: Shape): void {
  if (shape.length === 0 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new TensorShapeError(op, `shape ${formatShape(shape)} must be non-empty with positive integer dims`);
  }
}

/** Rows × last dim: x [..., C] is treated as [N, C]. */
export function rowsAndCols(op: string, name: string, t: Tensor): { rows: number; cols: number } {
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
    throw new TensorShapeError(
      op,
      `inner dims differ: a ${formatShape(a.shape)}${options.transA ? 'ᵀ' : ''} has K=${K}, ` +
        `b ${formatShape(b.shape)}${options.transB ? 'ᵀ' : ''} has K=${Kb}`,
    );
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

export function attentionDims(op: string, qkv: Tensor, heads: number) {
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

export function expectSameShape(op: string, a: Tensor, b: Tensor, names: [string, string] = ['a', 'b']): void {
  expectShape(op, names[1], b, a.shape);
}

export function expectSize(op: string, shape: Shape, size: number): void {
  if (sizeOf(shape) !== size) {
    throw new TensorShapeError(op, `shape ${formatShape(shape)} holds ${sizeOf(shape)} elements, data has ${size}`);
  }
}

/** ids: i32 [...]; table: [V, C]. */
export function embeddingDims(op: string, ids: Tensor, table: Tensor): { V: number; C: number; outShape: Shape } {
  if (table.shape.length !== 2) {
    throw new TensorShapeError(op, `tensor 'table' has shape ${formatShape(table.shape)}, expected [V,C]`);
  }
  const [V, C] = table.shape;
  return { V, C, outShape: [...ids.shape, C] };
}
