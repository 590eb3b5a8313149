import type { Random } from '@openshard/tensor';

export interface SamplingOptions {
  /** 0 picks the most likely token (greedy); higher values flatten the distribution. */
  temperature: number;
  /** Sample only among the k most likely tokens; 0 means all. */
  topK: number;
  /** Nucleus sampling: only the most likely tokens whose probabilities first reach this mass; 1 (the default) means all. */
  topP?: number;
}

/** Throws a RangeError naming the first option outside its range. */
export function checkSampling(o: SamplingOptions): void {
  if (!(o.temperature >= 0)) throw new RangeError(`temperature is ${o.temperature}; it must be 0 (greedy) or positive`);
  if (!Number.isInteger(o.topK) || o.topK < 0) throw new RangeError(`topK is ${o.topK}; it must be 0 (all) or a positive integer`);
  const topP = o.topP ?? 1;
  if (!(topP > 0 && topP <= 1)) throw new RangeError(`topP is ${topP}; it must be above 0 and at most 1`);
}

/** Picks the next token from one row of logits. Ties in greedy mode go to the lowest id. */
export function sampleToken(logits: ArrayLike<number>, o: SamplingOptions, rng: Random): number {
  checkSampling(o);
  const V = logits.length;
  if (o.temperature === 0) {
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
  const ranked = o.topK > 0 ? order.slice(0, o.topK) : order;
  const max = logits[ranked[0]];
  const rankedWeights = ranked.map((i) => Math.exp((logits[i] - max) / o.temperature));
  const kept = nucleus(rankedWeights, o.topP ?? 1);
  const total = rankedWeights.slice(0, kept).reduce((a, b) => a + b, 0);
  let u = rng.next() * total;
  for (let j = 0; j < kept; j++) {
    u -= rankedWeights[j];
    if (u < 0) return ranked[j];
  }
  return ranked[kept - 1];
}

/** How many of the weights (sorted, largest first) it takes for their share of the total to reach p. */
function nucleus(weights: readonly number[], p: number): number {
  if (p >= 1) return weights.length;
  const total = weights.reduce((a, b) => a + b, 0);
  let mass = 0;
  for (let j = 0; j < weights.length; j++) {
    mass += weights[j];
    if (mass >= p * total) return j + 1;
  }
  return weights.length;
}
