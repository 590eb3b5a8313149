import type { OptimizerState, ParameterValues } from './checkpoint.ts';
import type { ShardOptimizer } from './optimizer.ts';
import type { Shard } from './shard.ts';

/** Every parameter of the given shards, by name, read back from each shard's backend (for checkpoints and weight messages). */
export async function readParameters(shards: readonly Shard[]): Promise<ParameterValues> {
  const values: ParameterValues = new Map();
  for (const shard of shards) {
    for (const [name, t] of shard.weights) values.set(name, (await shard.backend.read(t)) as Float32Array);
  }
  return values;
}

/** The AdamW moments of the given optimizers, by parameter name, read back after `step` optimizer steps. */
export async function readOptimizerState(optimizers: readonly ShardOptimizer[], step: number): Promise<OptimizerState> {
  const moments: OptimizerState['moments'] = new Map();
  for (const o of optimizers) {
    for (const [name, { m, v }] of o.moments) {
      moments.set(name, { m: (await o.backend.read(m)) as Float32Array, v: (await o.backend.read(v)) as Float32Array });
    }
  }
  return { step, moments };
}
