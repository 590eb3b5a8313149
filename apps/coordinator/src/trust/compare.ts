import { Q8_LEVELS } from '@openshard/protocol';
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
export function compareResults(a: TaskResult, reference: TaskResult, tolerance: number, quantized: (name: string) => boolean = () => false): Agreement {
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
    note(t.name, quantized(t.name) ? quantizedError(t.data, r.data, r.shape) : relativeError(t.data, r.data));
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

/** Honest roundings of one value land a level apart only where it sits on a boundary between levels: far fewer elements than this. */
export const LEVEL_FLIPS_ALLOWED = 0.01;
/** More than half a level from b, beyond what float noise at the half-level boundary explains. */
const MOVED = 0.501;

/**
 * For a tensor sent in q8 (rows of its last dimension, 127 levels a side): the worst element's
 * distance from b beyond one level of b's row, relative to the row's largest magnitude, plus the
 * fraction of elements more than half a level from b when that fraction is above
 * LEVEL_FLIPS_ALLOWED. Two honest roundings of one value differ by at most a level, and only at
 * boundaries; one rounding of the exact value by half a level. So honest results score their
 * float noise, like `relativeError`; moving values by more than a level scores that, and moving
 * many by less (a nudge hiding inside the rounding) scores the fraction moved.
 */
export function quantizedError(a: ArrayLike<number>, b: ArrayLike<number>, shape: readonly number[]): number {
  const width = shape[shape.length - 1] ?? a.length;
  let worst = 0;
  let moved = 0;
  for (let start = 0; start < b.length; start += width) {
    let top = 0;
    for (let i = start; i < start + width; i++) top = Math.max(top, Math.abs(b[i]));
    const level = top / Q8_LEVELS;
    for (let i = start; i < start + width; i++) {
      const d = Math.abs(a[i] - b[i]);
      if (Number.isNaN(d)) return Number.NaN;
      if (d > level) worst = Math.max(worst, (d - level) / Math.max(top, FLOOR));
      if (d > level * MOVED) moved += 1;
    }
  }
  const fraction = b.length ? moved / b.length : 0;
  return worst + (fraction > LEVEL_FLIPS_ALLOWED ? fraction : 0);
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
