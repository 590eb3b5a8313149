import { CpuBackend } from '@openshard/tensor';
import { describe, expect, test } from 'vitest';
import { ConfigError, parameterSpecs, partition, preset, runMicroBatch, shardParameterSpecs, shardRoundFlops, ShardInputError } from '../src/index.ts';
import { batchOf, perturbedValues, readAll, shardsFrom, TOY } from './helpers.ts';

/** The bar for the sharded model against the whole model on the CPU backend. */
const RELATIVE_TOLERANCE = 1e-5;

function relativeError(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    norm = Math.max(norm, Math.abs(b[i]));
  }
  return diff / Math.max(norm, 1e-30);
}

describe('partition', () => {
  test('behavior: every layer and parameter belongs to exactly one shard, embeddings first, head last', () => {
    for (const S of [1, 2, 3, 4]) {
      const shards = partition(TOY, S);
      expect(shards.map((s) => s.index)).toEqual([...Array(S).keys()]);
      expect(shards[0].firstLayer).toBe(0);
      expect(shards[S - 1].endLayer).toBe(TOY.layers);
      for (let i = 1; i < S; i++) expect(shards[i].firstLayer).toBe(shards[i - 1].endLayer);
      const names = shards.flatMap((s) => shardParameterSpecs(TOY, s).map((p) => p.name));
      expect(names.sort()).toEqual(
        parameterSpecs(TOY)
          .map((p) => p.name)
          .sort(),
      );
      expect(shardParameterSpecs(TOY, shards[0]).some((p) => p.name === 'transformer.wte.weight')).toBe(true);
      expect(shardParameterSpecs(TOY, shards[S - 1]).some((p) => p.name === 'lm_head.weight')).toBe(true);
    }
  });

  test('behavior: cut points minimise the largest shard by FLOPs (exhaustive check on gpt2, 12 layers)', () => {
    const c = preset('gpt2');
    for (const S of [2, 3, 4, 6]) {
      const maxOf = (cuts: number[]) => {
        const bounds = [0, ...cuts, c.layers];
        return Math.max(...bounds.slice(0, -1).map((first, i) => shardRoundFlops(c, { index: i, count: S, firstLayer: first, endLayer: bounds[i + 1] }, 1, c.contextLength)));
      };
      let best = Infinity;
      const search = (cuts: number[], from: number) => {
        if (cuts.length === S - 1) {
          best = Math.min(best, maxOf(cuts));
          return;
        }
        for (let e = from; e < c.layers; e++) search([...cuts, e], e + 1);
      };
      search([], 1);
      const chosen = partition(c, S)
        .slice(1)
        .map((s) => s.firstLayer);
      expect(maxOf(chosen)).toBe(best);
    }
  });

  test('error: more shards than layers, or none, is refused with the limit', () => {
    expect(() => partition(TOY, 5)).toThrow(ConfigError);
    expect(() => partition(TOY, 5)).toThrow('cannot cut 4 layers into 5 shards: choose 1 to 4 shards');
    expect(() => partition(TOY, 0)).toThrow(ConfigError);
    expect(() => partition({ ...TOY, width: 10, heads: 4 }, 1)).toThrow('config.width 10 is not divisible by config.heads 4');
  });
});

describe('sharded model == whole model', () => {
  for (const S of [2, 4]) {
    test(`behavior: S=${S} gives the loss and every gradient of S=1 (CPU, ${RELATIVE_TOLERANCE} relative)`, async () => {
      const be = new CpuBackend();
      const values = perturbedValues(TOY, 11);
      const batch = batchOf(TOY, 3, TOY.contextLength, 2);
      const whole = await runMicroBatch(shardsFrom(be, TOY, 1, values), batch);
      const sharded = await runMicroBatch(shardsFrom(be, TOY, S, values), batch);
      expect(Math.abs(sharded.loss - whole.loss) / whole.loss).toBeLessThanOrEqual(RELATIVE_TOLERANCE);
      const reference = await readAll(be, whole.grads[0]);
      let compared = 0;
      for (const grads of sharded.grads) {
        for (const [name, g] of await readAll(be, grads)) {
          expect(relativeError(g, reference.get(name)!), name).toBeLessThanOrEqual(RELATIVE_TOLERANCE);
          compared++;
        }
      }
      expect(compared).toBe(parameterSpecs(TOY).length);
    });
  }
});

describe('shard inputs', () => {
  const be = new CpuBackend();
  const shards = shardsFrom(be, TOY, 2, perturbedValues(TOY, 1));

  test('error: token ids outside the vocabulary name the index, the value and the limit', () => {
    expect(() => shards[0].tokens(Int32Array.from([1, 2, 23, 4]), 1, 4)).toThrow('tokens[2] is 23, outside the vocabulary [0, 23)');
    expect(() => shards[0].tokens(Int32Array.from([1, 2, 3]), 1, 4)).toThrow('tokens has 3 ids, expected B·T = 1·4 = 4');
  });

  test('error: an activation of the wrong width, dtype or length is refused before computing', async () => {
    expect(() => shards[1].forward(be.zeros([2, 4, 6]))).toThrow(ShardInputError);
    expect(() => shards[1].forward(be.zeros([2, 4, 6]))).toThrow("tensor 'x' is f32[2,4,6], expected f32 [B, T, 8] for shard 1 of 2");
    expect(() => shards[1].forward(be.zeros([2, 4, 8], 'i32'))).toThrow(ShardInputError);
    expect(() => shards[1].forward(be.zeros([1, 9, 8]))).toThrow("tensor 'x' has 9 positions per sequence; it must have 1 to 8 (the context length)");
    expect(() => shards[0].backward(be.zeros([2, 4], 'i32'), be.zeros([2, 5, 8]))).toThrow("tensor 'dy' is f32[2,5,8], expected f32[2,4,8] for shard 0 of 2");
    await expect(shards[0].lossAndBackward(be.zeros([2, 4], 'i32'), be.zeros([2, 4], 'i32'))).rejects.toThrow('only the last shard computes it');
  });
});
