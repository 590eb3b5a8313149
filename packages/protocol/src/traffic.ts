import type { Codec } from './codecs.ts';

/**
 * How much crosses the wire for training (docs/traffic.md):
 * - `exact`: fp32 everywhere; each backward result carries its micro-batch's parameter
 *   gradients; each step sends every holder its shard's whole weights. Distributed training
 *   then reproduces the single-process trainer bit for bit.
 * - `compact`: boundary activations and their gradients in q8; a volunteer keeps its tasks'
 *   parameter gradients and sends their sum once per round when asked (`collect`), in q8; a step
 *   sends holders the q8 update from the version they hold, with error feedback at the
 *   coordinator, so every holder's weights equal the coordinator's bit for bit.
 */
export const TRAFFIC_MODES = ['exact', 'compact'] as const;
export type Traffic = (typeof TRAFFIC_MODES)[number];

export interface TrafficCodecs {
  /** Boundary tensors: x and y, dy and dx (token ids and targets stay i32). */
  activations: Codec;
  /** Parameter gradients: per task (exact) or their per-round sum (compact). */
  gradients: Codec;
  /** A step's weights to a holder of the previous version: null sends the whole weights. */
  updates: Codec | null;
  /** Whether backward results leave parameter gradients with the volunteer until `collect`. */
  keepGradients: boolean;
}

export const TRAFFIC: Record<Traffic, TrafficCodecs> = {
  exact: { activations: 'fp32', gradients: 'fp32', updates: null, keepGradients: false },
  compact: { activations: 'q8', gradients: 'q8', updates: 'q8', keepGradients: true },
};

/** Boundary tensors (a stage's input and output, and their gradients): everything else in a result is a parameter's gradient. */
export const BOUNDARY_TENSORS: readonly string[] = ['x', 'y', 'dx', 'dy'];

/** The weights at a version from those at its base and the update between them, rounded to fp32 as both sides must. */
export function applyUpdate(base: Float32Array, update: Float32Array): Float32Array {
  if (base.length !== update.length) throw new RangeError(`an update of ${update.length} values for weights of ${base.length}`);
  const out = new Float32Array(base.length);
  for (let i = 0; i < base.length; i++) out[i] = base[i] + update[i];
  return out;
}
