import { CpuBackend, Random } from '@openshard/tensor';
import { describe, expect, test } from 'vitest';
import { DEFAULT_OPTIMIZER, learningRate, parameterSpecs, sampleToken, ShardOptimizer } from '../src/index.ts';
import { TOY } from './helpers.ts';

describe('learning-rate schedule', () => {
  const o = { ...DEFAULT_OPTIMIZER, learningRate: 1e-3, minLearningRate: 1e-4, warmupSteps: 10, decaySteps: 110 };

  test('behavior: linear warmup, cosine decay to the floor, then constant', () => {
    expect(learningRate(o, 1)).toBeCloseTo(1e-4, 12);
    expect(learningRate(o, 10)).toBeCloseTo(1e-3, 12);
    expect(learningRate(o, 60)).toBeCloseTo(5.5e-4, 12);
    expect(learningRate(o, 110)).toBeCloseTo(1e-4, 12);
    expect(learningRate(o, 500)).toBe(1e-4);
  });
});

describe('ShardOptimizer', () => {
  test('behavior: weight decay shrinks matrices and embeddings, never biases or LayerNorm gains', async () => {
    const be = new CpuBackend();
    const specs = parameterSpecs(TOY).filter((p) => p.layer === 0 || p.layer === -1);
    const weights = new Map(specs.map((p) => [p.name, be.upload(new Float32Array(p.shape.reduce((a, b) => a * b, 1)).fill(1), p.shape)]));
    const grads = new Map(specs.map((p) => [p.name, be.zeros(p.shape)]));
    const opt = new ShardOptimizer(be, specs, { ...DEFAULT_OPTIMIZER, warmupSteps: 0, weightDecay: 0.5, learningRate: 0.1, minLearningRate: 0.1 });
    opt.step(weights, grads, 1);
    for (const p of specs) {
      const v = (await be.read(weights.get(p.name)!))[0];
      expect(v, p.name).toBeCloseTo(p.decay ? 1 - 0.1 * 0.5 : 1, 6);
    }
    expect(specs.filter((p) => p.decay).map((p) => p.name)).toContain('transformer.wpe.weight');
    expect(() => opt.step(weights, new Map(), 2)).toThrow("optimizer step 2: no gradient for 'transformer.wte.weight'");
  });
});

describe('sampling', () => {
  const logits = [0.1, 2, 2, -1, 0.5];

  test('behavior: temperature 0 is greedy, ties to the lowest id', () => {
    expect(sampleToken(logits, { temperature: 0, topK: 0 }, new Random(1))).toBe(1);
  });

  test('behavior: top-k only ever picks among the k most likely; frequencies follow the softmax', () => {
    const rng = new Random(3);
    const counts = new Array(5).fill(0);
    for (let i = 0; i < 4000; i++) counts[sampleToken(logits, { temperature: 1, topK: 3 }, rng)]++;
    expect(counts[0] + counts[3]).toBe(0);
    const pTop = Math.exp(2) / (2 * Math.exp(2) + Math.exp(0.5));
    expect(counts[1] / 4000).toBeCloseTo(pTop, 1);
    expect(counts[4]).toBeGreaterThan(0);
  });

  test('behavior: top-p keeps the most likely tokens until their mass reaches p, and follows their renormalised softmax', () => {
    const rng = new Random(5);
    const counts = new Array(5).fill(0);
    // softmax of the logits: [0.062, 0.414, 0.414, 0.021, 0.092]; 0.8 is reached by the two 2s alone
    for (let i = 0; i < 4000; i++) counts[sampleToken(logits, { temperature: 1, topK: 0, topP: 0.8 }, rng)]++;
    expect(counts[0] + counts[3] + counts[4]).toBe(0);
    expect(counts[1] / 4000).toBeCloseTo(0.5, 1);
    // just above the two top tokens' mass, the third (id 4) comes in
    const wider = new Array(5).fill(0);
    for (let i = 0; i < 4000; i++) wider[sampleToken(logits, { temperature: 1, topK: 0, topP: 0.84 }, rng)]++;
    expect(wider[4]).toBeGreaterThan(0);
    expect(wider[0] + wider[3]).toBe(0);
  });

  test('behavior: the same seed draws the same tokens', () => {
    const draw = (seed: number) => {
      const rng = new Random(seed);
      return Array.from({ length: 20 }, () => sampleToken(logits, { temperature: 0.9, topK: 0, topP: 0.95 }, rng));
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  test('error: a negative temperature, a fractional k or a top-p outside (0, 1] is refused', () => {
    expect(() => sampleToken(logits, { temperature: -1, topK: 0 }, new Random(1))).toThrow('temperature is -1');
    expect(() => sampleToken(logits, { temperature: 1, topK: 1.5 }, new Random(1))).toThrow('topK is 1.5');
    expect(() => sampleToken(logits, { temperature: 1, topK: 0, topP: 0 }, new Random(1))).toThrow('topP is 0');
    expect(() => sampleToken(logits, { temperature: 1, topK: 0, topP: 1.5 }, new Random(1))).toThrow('topP is 1.5');
  });
});
