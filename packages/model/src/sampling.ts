import type { Random } from '@openshard/tensor';

export interface SamplingOptions {
  /** 0 picks the most likely token (greedy); higher values flatten the distribution. */
  temperature: number;
  /** Sample only among the k most likely tokens; 0 means all. */
  topK: number;
}

/** Picks the next token from one row of logits. Ties in greedy mode go to the lowest id. */
export function sampleToken(logits: ArrayLike<number>, o: SamplingOptions, rng: Random): number {
  if (!(o.temperature >= 0)) throw new RangeError(`temperature is ${o.temperature}; it must be 0 (greedy) or positive`);
  if (!Number.isInteger(o.topK) || o.topK < 0) throw new RangeError(`topK is ${o.topK}; it must be 0 (all) or a positive integer`);
  const V = logits.length;
  if (o.temperature === 0) {
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
  const kept = o.topK > 0 ? order.slice(0, o.topK) : order;
  const max = logits[kept[0]];
  const weights = kept.map((i) => Math.exp((logits[i] - max) / o.temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  let u = rng.next() * total;
  for (let j = 0; j < kept.length; j++) {
    u -= weights[j];
    if (u < 0) return kept[j];
  }
  return kept[kept.length - 1];
}
