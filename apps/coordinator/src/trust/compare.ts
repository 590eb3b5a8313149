import type { TaskResult } from '../training/training-run.ts';

/** How far two results of the same task are apart: the worst tensor (or the loss), by relative error. */
export interface Agreement {
  agree: boolean;
  /** The tensor (or 'loss') that differs most. */
  worst: string;
  /** ‖a − b‖ / (‖b‖ + ε·√n) for that tensor; |a − b| / max(1, |b|) for the loss. */
  error: number;
}

/** Keeps a tensor of exact zeros (a bias gradient, say) from turning rounding into a large relative error. */
const FLOOR = 1e-6;

/**
 * Compares a result with a reference result of the same task, tensor by tensor. Honest results of
 * one task on the same weights differ only by rounding (summation order, fused multiply-adds,
 * another GPU): far below `tolerance`. A tensor missing from either side, or of another size,
 * disagrees outright.
 */
export function compareResults(a: TaskResult, reference: TaskResult, tolerance: number): Agreement {
  let worst = { name: '', error: 0 };
  const note = (name: string, error: number) => {
    const e = Number.isNaN(error) ? Infinity : error;
    if (e > worst.error || worst.name === '') worst = { name, error: e };
  };
  const ref = new Map(reference.tensors.map((t) => [t.name, t]));
  for (const t of a.tensors) {
    const r = ref.get(t.name);
    if (!r || r.data.length !== t.data.length) {
      note(t.name, Infinity);
      continue;
    }
    note(t.name, relativeError(t.data, r.data));
  }
  // a tensor sent twice could stand in for a missing one: every reference tensor is matched exactly once
  const names = new Set(a.tensors.map((t) => t.name));
  if (names.size !== a.tensors.length || ref.size !== names.size || [...ref.keys()].some((n) => !names.has(n))) note('tensors', Infinity);
  if (a.loss !== undefined || reference.loss !== undefined) {
    const l = a.loss ?? Number.NaN;
    const rl = reference.loss ?? Number.NaN;
    note('loss', Math.abs(l - rl) / Math.max(1, Math.abs(rl)));
  }
  return { agree: worst.error <= tolerance, worst: worst.name, error: worst.error };
}

/** ‖a − b‖₂ / (‖b‖₂ + FLOOR·√n), 0 for empty tensors; NaN anywhere makes it NaN (counted as infinitely far). */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length === 0) return 0;
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    diff += d * d;
    norm += b[i] * b[i];
  }
  return Math.sqrt(diff) / (Math.sqrt(norm) + FLOOR * Math.sqrt(a.length));
}
