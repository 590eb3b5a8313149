import type { DType } from './dtype.ts';

export { DTYPES, type DType, type TensorData } from './dtype.ts';
export type Shape = readonly number[];
/** Arrays the CPU kernels accept: f32 in production, f64 for finite-difference checks. */
export type FloatArray = Float32Array | Float64Array;

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

/**
 * Backend-owned memory behind one or more tensors. Views made by `reshape` share it;
 * it is released when the last tensor using it is disposed.
 */
export interface TensorStorage {
  refs: number;
  release(): void;
}

/** A handle to an n-dimensional array living on one backend. */
export class Tensor<S extends TensorStorage = TensorStorage> {
  readonly size: number;
  #disposed = false;

  constructor(
    readonly backend: string,
    readonly shape: Shape,
    readonly dtype: DType,
    readonly storage: S,
  ) {
    this.size = sizeOf(shape);
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** Drops this handle; the storage is freed when no other view uses it. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.storage.refs -= 1;
    if (this.storage.refs === 0) this.storage.release();
  }

  toString(): string {
    return `${this.dtype}${formatShape(this.shape)}`;
  }
}
