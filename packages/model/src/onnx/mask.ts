import { ShardInputError } from '../errors.ts';

/** What the additive mask adds where attention is not allowed: exp(score − 1e9 − max) is exactly 0 in float32, and a row never holds only masked entries. */
export const MASKED_SCORE = -1e9;

/**
 * The `attention_mask` for T new tokens after `past` cached ones, float32 [T, past + T] row-major:
 * query t (at position past + t) may attend to every key j ≤ past + t.
 */
export function causalMask(past: number, T: number): Float32Array {
  if (!Number.isInteger(past) || past < 0 || !Number.isInteger(T) || T < 1) {
    throw new ShardInputError(`causal mask for past ${past} and ${T} new tokens: past must be an integer ≥ 0 and T an integer ≥ 1`);
  }
  const total = past + T;
  const mask = new Float32Array(T * total);
  for (let t = 0; t < T; t++) mask.fill(MASKED_SCORE, t * total + past + t + 1, (t + 1) * total);
  return mask;
}
