import { encode } from '@openshard/data';
import { DEFAULT_OPTIMIZER, type GptConfig } from '@openshard/model';
import { CpuBackend } from '@openshard/tensor';
import { describe, expect, test } from 'vitest';
import { Trainer, type TrainingOptions } from '../src/index.ts';

const SMALL: GptConfig = { vocabSize: 256, contextLength: 16, layers: 4, heads: 2, width: 32 };
const TEXT = encode('It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness. '.repeat(6));
const STEPS = 4;
/** The bar of trainer.test.ts for sharded against whole on the CPU backend (f32). */
const RELATIVE_TOLERANCE = 1e-5;
const options = (o: Partial<TrainingOptions> = {}): TrainingOptions => ({
  config: SMALL,
  shards: 1,
  batch: 3,
  microBatches: 2,
  seed: 5,
  optimizer: { ...DEFAULT_OPTIMIZER, warmupSteps: 2, decaySteps: 10 },
  ...o,
});

async function losses(o: TrainingOptions): Promise<number[]> {
  const t = new Trainer(new CpuBackend(), TEXT, o);
  const out = [];
  for (let i = 0; i < STEPS; i++) out.push((await t.trainStep()).loss);
  t.dispose();
  return out;
}

describe('trainer with a low-rank boundary', () => {
  test('behavior: the loss sequence does not depend on the number of shards, and is not the dense one (CPU, 1e-5 relative)', async () => {
    const whole = await losses(options({ boundaryRank: 4 }));
    for (const shards of [2, 4]) {
      const sharded = await losses(options({ boundaryRank: 4, shards }));
      sharded.forEach((l, i) => expect(Math.abs(l - whole[i]) / whole[i], `${shards} shards, step ${i + 1}`).toBeLessThanOrEqual(RELATIVE_TOLERANCE));
    }
    expect(whole[STEPS - 1]).toBeLessThan(whole[0]);
    const dense = await losses(options({ shards: 4 }));
    expect(Math.max(...dense.map((l, i) => Math.abs(l - whole[i]) / l))).toBeGreaterThan(1e-3);
  });
});
