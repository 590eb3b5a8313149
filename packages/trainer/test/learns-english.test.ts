import { unigramEntropy, validationBatches } from '@openshard/data';
import { loadBrownCorpus } from '@openshard/data/node';
import { DEFAULT_OPTIMIZER, type GptConfig } from '@openshard/model';
import { CpuBackend } from '@openshard/tensor';
import { describe, expect, test } from 'vitest';
import { Trainer } from '../src/index.ts';

/** A scaled-down tiny preset, so the test takes seconds; the 2000-step tiny run is in the README. */
const CONFIG: GptConfig = { vocabSize: 256, contextLength: 32, layers: 2, heads: 2, width: 64 };
const STEPS = 150;

describe('learning the Brown corpus', () => {
  test('behavior: after a short run the validation loss is below the unigram byte entropy of the corpus', async () => {
    const corpus = loadBrownCorpus();
    const entropy = unigramEntropy(corpus.train);
    const trainer = new Trainer(new CpuBackend(), corpus.train, {
      config: CONFIG,
      shards: 2,
      batch: 8,
      microBatches: 1,
      seed: 1,
      optimizer: { ...DEFAULT_OPTIMIZER, learningRate: 3e-3, warmupSteps: 20, decaySteps: STEPS },
    });
    const validation = validationBatches(corpus.validation, 8, CONFIG.contextLength, 8);
    const before = await trainer.evaluate(validation);
    for (let i = 0; i < STEPS; i++) await trainer.trainStep();
    const after = await trainer.evaluate(validation);
    expect(before).toBeGreaterThan(entropy);
    expect(after, `validation ${after} nats/byte vs unigram entropy ${entropy}`).toBeLessThan(entropy - 0.2);
  });
});
