import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode, encode } from '@openshard/data';
import { DEFAULT_OPTIMIZER, partition, preset, Shard } from '@openshard/model';
import { CpuBackend } from '@openshard/tensor';
import { generate, loadModel, saveCheckpoint, Trainer } from '@openshard/trainer';

/** A text the micro model learns to continue in a few dozen steps, so greedy output is not noise. */
export const SERVED_TEXT = 'It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness. '.repeat(8);

/**
 * Trains a preset (micro by default) for `steps` on one CPU (a few seconds) and writes a checkpoint for the
 * coordinator's --serve-checkpoint; returns its folder. The serving tests and benchmarks of the
 * coordinator and of the web app share it.
 */
export async function trainedCheckpoint(steps = 40, presetName = 'micro'): Promise<string> {
  const config = preset(presetName);
  const options = { config, shards: 1, batch: 4, microBatches: 1, seed: 3, optimizer: { ...DEFAULT_OPTIMIZER, learningRate: 3e-3, warmupSteps: 5, decaySteps: 1000 } };
  const text = encode(SERVED_TEXT);
  const trainer = new Trainer(new CpuBackend(), text, options);
  for (let i = 0; i < steps; i++) await trainer.trainStep();
  const { config: _, ...saved } = options;
  const dir = mkdtempSync(join(tmpdir(), 'openshard-served-'));
  return saveCheckpoint(dir, {
    config,
    values: await trainer.parameterValues(),
    optimizer: await trainer.optimizerState(),
    trainer: { format: 1, backend: 'cpu', state: trainer.state, options: saved, corpus: { source: 'test', trainBytes: text.length, trainCrc32: '0' } },
  });
}

/** Greedy text from the checkpoint on our CPU kernels, as `npm run generate` gives it: the reference for what the network serves. */
export async function greedyReference(checkpoint: string, prompt: string, maxTokens: number): Promise<string> {
  const { config, values } = loadModel(checkpoint);
  const backend = new CpuBackend();
  const shards = partition(config, 1).map((spec) => Shard.fromValues(backend, config, spec, (p) => values.get(p.name)!));
  const out = await generate(shards, encode(prompt), { maxTokens, temperature: 0, topK: 0, seed: 1 });
  for (const s of shards) s.dispose();
  return decode(out);
}
