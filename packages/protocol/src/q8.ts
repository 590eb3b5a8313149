import type { TensorData } from '@openshard/tensor/dtype';
import { ProtocolError } from './errors.ts';

/**
 * The q8 codec: a tensor as rows (its last dimension), each as the row's largest magnitude m
 * (fp32) and one int8 level per value, q = round(127·x / m); decoded x = q·m / 127 (in double,
 * then to fp32). The row's largest value decodes to exactly ±m, so re-encoding decoded values
 * gives the same bytes: a relay never degrades a tensor twice. Layout: every row's m, then every
 * level, row after row. Only what `encodeRows` can produce is decoded: m finite and ≥ 0, some
 * level ±127 in a row whose m is not 0, every level 0 in a row whose m is 0 (so the values a
 * receiver checks are the values it applies).
 */
export const LEVELS = 127;

function rowShape(shape: readonly number[]): { rows: number; width: number } {
  const width = shape.length ? shape[shape.length - 1] : 1;
  const total = shape.reduce((a, b) => a * b, 1);
  return { rows: width ? total / width : 0, width };
}

export function rowsBytes(shape: readonly number[]): number {
  const { rows, width } = rowShape(shape);
  return rows * 4 + rows * width;
}

export function encodeRows(values: TensorData, shape: readonly number[]): Uint8Array {
  const { rows, width } = rowShape(shape);
  const out = new Uint8Array(rows * 4 + rows * width);
  const maxima = new Float32Array(out.buffer, 0, rows);
  const levels = new Int8Array(out.buffer, rows * 4, rows * width);
  // one element type in the hot loops (a union of typed arrays would make every access polymorphic)
  const x = values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
  for (let r = 0; r < rows; r++) {
    const start = r * width;
    const end = start + width;
    maxima[r] = rowMax(x, start, end);
    const top = maxima[r];
    if (top === 0) continue;
    // |x| ≤ top, so 127·x / top is within ±127 exactly (both are float32, the product exact in double): no clamp
    // needed. floor(v + 0.5) rounds halves up as Math.round does, and is several times faster in V8 here.
    for (let i = start; i < end; i++) levels[i] = Math.floor((x[i] * LEVELS) / top + 0.5) | 0;
  }
  return out;
}

/** The largest magnitude in x[start, end); NaN when any value is NaN (so the row is refused, never silently zero). */
function rowMax(x: Float32Array, start: number, end: number): number {
  let m = 0;
  for (let i = start; i < end; i++) {
    const a = Math.abs(x[i]);
    if (Number.isNaN(a)) return a;
    if (a > m) m = a;
  }
  return m;
}

export function decodeRows(bytes: Uint8Array, shape: readonly number[]): Float32Array {
  const { rows, width } = rowShape(shape);
  const copy = new Uint8Array(bytes).buffer;
  const maxima = new Float32Array(copy, 0, rows);
  const levels = new Int8Array(copy, rows * 4, rows * width);
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++) {
    const top = maxima[r];
    let extreme = 0;
    for (let i = r * width; i < (r + 1) * width; i++) {
      extreme = Math.max(extreme, Math.abs(levels[i]));
      out[i] = (levels[i] * top) / LEVELS;
    }
    if (!(Number.isFinite(top) && top >= 0) || (top > 0 && extreme !== LEVELS) || (top === 0 && extreme !== 0)) {
      throw new ProtocolError('bad-tensor', `q8 row ${r} has largest magnitude ${top} and largest level ${extreme}; a row's largest value must be level ±${LEVELS} of a finite largest magnitude ≥ 0`);
    }
  }
  return out;
}
