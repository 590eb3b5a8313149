import { describe, expect, test } from 'vitest';
import { blockFlops, parameterCount, parameterSpecs, partition, preset, shardFlops, shardRoundFlops, headFlops, lossFlops, embeddingFlops } from '../src/index.ts';

describe('FLOP counts', () => {
  const gpt2 = preset('gpt2');

  test('behavior: a gpt2 forward pass costs 2·(non-embedding parameters) + 2·layers·T·width per token, as Kaplan et al. estimate, within 3%', () => {
    const T = gpt2.contextLength;
    const whole = partition(gpt2, 1)[0];
    const forwardPerToken = shardFlops(gpt2, whole, 'forward', 1, T) / T;
    const nonEmbedding = parameterCount(parameterSpecs(gpt2).filter((p) => !p.name.includes('wte') && !p.name.includes('wpe')));
    // the untied head is a non-embedding parameter; causal attention averages (T+1)/2 keys of 4·width FLOPs each
    const kaplan = 2 * nonEmbedding + 2 * gpt2.layers * T * gpt2.width;
    expect(Math.abs(forwardPerToken - kaplan) / kaplan).toBeLessThan(0.03);
  });

  test('behavior: the backward pass proper costs about twice the forward', () => {
    const b = blockFlops(gpt2, 1, gpt2.contextLength);
    expect(b.backward / b.forward).toBeGreaterThan(1.9);
    expect(b.backward / b.forward).toBeLessThan(2.1);
  });

  test('behavior: counts are exact integers, linear in B, and add up across shards', () => {
    const tiny = preset('tiny');
    const T = tiny.contextLength;
    const [whole] = partition(tiny, 1);
    const total = shardFlops(tiny, whole, 'lossAndBackward', 3, T);
    expect(Number.isInteger(total)).toBe(true);
    expect(total).toBe(3 * shardFlops(tiny, whole, 'lossAndBackward', 1, T));
    const block = blockFlops(tiny, 3, T);
    const parts = [embeddingFlops(tiny, 3, T), headFlops(tiny, 3, T), lossFlops(tiny, 3, T)];
    expect(total).toBe(tiny.layers * (block.forward + block.backward) + parts.reduce((a, p) => a + p.forward + p.backward, 0));
    for (const S of [2, 4]) {
      const shards = partition(tiny, S);
      // every shard but the last recomputes its forward inside its backward task
      const recomputed = shards.slice(0, -1).reduce((a, s) => a + shardFlops(tiny, s, 'forward', 3, T), 0);
      const sum = shards.reduce((a, s) => a + shardRoundFlops(tiny, s, 3, T), 0);
      expect(sum).toBe(total + recomputed);
    }
  });

  test('error: a task kind a shard does not run is refused', () => {
    const [first, last] = partition(preset('tiny'), 2);
    expect(() => shardFlops(preset('tiny'), first, 'lossAndBackward', 1, 64)).toThrow("shard 0 of 2 has no 'lossAndBackward' task");
    expect(() => shardFlops(preset('tiny'), last, 'backward', 1, 64)).toThrow("shard 1 of 2 has no 'backward' task");
  });
});
