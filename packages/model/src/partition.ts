import { validateConfig, type GptConfig } from './config.ts';
import { ConfigError } from './errors.ts';
import { shardRoundFlops } from './flops.ts';
import { parameterSpecs, type ParameterSpec } from './parameters.ts';
import type { ShardSpec } from './shard-spec.ts';

/**
 * Cuts the model into `count` shards of at least one layer each, choosing the cut points that
 * minimise the largest shard's FLOPs per training micro-batch (forward, recomputed forward and
 * backward; embeddings on the first shard, head and loss on the last).
 */
export function partition(c: GptConfig, count: number): ShardSpec[] {
  validateConfig(c);
  if (!Number.isInteger(count) || count < 1 || count > c.layers) {
    throw new ConfigError(`cannot cut ${c.layers} layers into ${count} shards: choose 1 to ${c.layers} shards`);
  }
  // Relative costs do not depend on the micro-batch size; T = context length is the training shape.
  const cost = (index: number, first: number, end: number) => shardRoundFlops(c, { index, count, firstLayer: first, endLayer: end }, 1, c.contextLength);
  // best[k][e]: the smallest possible max cost of shards 0..k-1 covering layers [0, e)
  const best = Array.from({ length: count + 1 }, () => new Array<number>(c.layers + 1).fill(Infinity));
  const cut = Array.from({ length: count + 1 }, () => new Array<number>(c.layers + 1).fill(-1));
  best[0][0] = 0;
  for (let k = 1; k <= count; k++) {
    for (let e = k; e <= c.layers; e++) {
      for (let s = k - 1; s < e; s++) {
        const v = Math.max(best[k - 1][s], cost(k - 1, s, e));
        if (v < best[k][e]) {
          best[k][e] = v;
          cut[k][e] = s;
        }
      }
    }
  }
  const shards: ShardSpec[] = [];
  for (let k = count, e = c.layers; k > 0; k--) {
    const s = cut[k][e];
    shards.unshift({ index: k - 1, count, firstLayer: s, endLayer: e });
    e = s;
  }
  return shards;
}

/** The parameters shard s holds, in checkpoint order. */
export function shardParameterSpecs(c: GptConfig, s: ShardSpec): ParameterSpec[] {
  return parameterSpecs(c).filter((p) => (p.layer === -1 ? s.index === 0 : p.layer === c.layers ? s.index === s.count - 1 : p.layer >= s.firstLayer && p.layer < s.endLayer));
}
