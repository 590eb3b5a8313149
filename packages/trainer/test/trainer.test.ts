import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode } from '@openshard/data';
import { DEFAULT_OPTIMIZER, type GptConfig } from '@openshard/model';
import { CpuBackend } from '@openshard/tensor';
import { afterAll, describe, expect, test } from 'vitest';
import { forgetCheckpointsAfter, generate, loadCheckpoint, saveCheckpoint, Trainer, type TrainingOptions } from '../src/index.ts';

const SMALL: GptConfig = { vocabSize: 256, contextLength: 16, layers: 2, heads: 2, width: 32 };
const TEXT = encode('It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness. '.repeat(6));
const options = (o: Partial<TrainingOptions> = {}): TrainingOptions => ({
  config: SMALL,
  shards: 1,
  batch: 3,
  microBatches: 2,
  seed: 5,
  optimizer: { ...DEFAULT_OPTIMIZER, warmupSteps: 2, decaySteps: 10 },
  ...o,
});
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function losses(t: Trainer, steps: number): Promise<number[]> {
  const out = [];
  for (let i = 0; i < steps; i++) out.push((await t.trainStep()).loss);
  return out;
}

describe('single-process trainer', () => {
  test('behavior: overfits one batch to a loss below 0.05, then recites it greedily', async () => {
    const B = 4;
    const T = SMALL.contextLength;
    const batch = TEXT.slice(0, B * T + 1);
    const t = new Trainer(
      new CpuBackend(),
      batch,
      options({ batch: B, microBatches: 1, optimizer: { ...DEFAULT_OPTIMIZER, learningRate: 3e-3, warmupSteps: 10, decaySteps: 10_000, weightDecay: 0 } }),
    );
    let loss = Infinity;
    while (loss >= 0.05 && t.step < 600) loss = (await t.trainStep()).loss;
    expect(loss).toBeLessThan(0.05);
    const prompt = batch.slice(T, T + 6);
    const continuation = await generate(t.shards, prompt, { maxTokens: 8, temperature: 0, topK: 0, seed: 1 });
    expect(new TextDecoder().decode(continuation)).toBe(new TextDecoder().decode(batch.slice(T + 6, T + 14)));
  });

  test('behavior: the loss sequence does not depend on the number of shards (CPU, 1e-5 relative)', async () => {
    const whole = await losses(new Trainer(new CpuBackend(), TEXT, options()), 4);
    const sharded = await losses(new Trainer(new CpuBackend(), TEXT, options({ shards: 2 })), 4);
    sharded.forEach((l, i) => expect(Math.abs(l - whole[i]) / whole[i]).toBeLessThanOrEqual(1e-5));
    expect(whole[3]).toBeLessThan(whole[0]);
  });

  test('behavior: a run resumed from a checkpoint continues exactly as one that never stopped', async () => {
    const straight = new Trainer(new CpuBackend(), TEXT, options({ shards: 2 }));
    const expected = await losses(straight, 6);
    const first = new Trainer(new CpuBackend(), TEXT, options({ shards: 2 }));
    const before = await losses(first, 3);
    const dir = mkdtempSync(join(tmpdir(), 'openshard-resume-'));
    dirs.push(dir);
    const { config: _, ...saved } = first.options;
    const path = saveCheckpoint(dir, {
      config: SMALL,
      values: await first.parameterValues(),
      optimizer: await first.optimizerState(),
      trainer: { format: 1, backend: 'cpu', state: first.state, options: saved, corpus: { source: 'test', trainBytes: TEXT.length, trainCrc32: '0' } },
    });
    const trainerJson = join(path, 'trainer.json');
    const original = readFileSync(trainerJson, 'utf8');
    writeFileSync(trainerJson, original.replace('"beta2": 0.99', '"beta2": "x"'));
    expect(() => loadCheckpoint(path, SMALL)).toThrow(`${trainerJson}: 'options.optimizer.beta2' is "x", expected a number in [0, 0.999999]`);
    writeFileSync(trainerJson, 'null');
    expect(() => loadCheckpoint(path, SMALL)).toThrow(`${trainerJson}: '(file)' is null, expected a JSON object`);
    writeFileSync(trainerJson, original);
    const ckpt = loadCheckpoint(path, SMALL);
    const resumed = new Trainer(new CpuBackend(), TEXT, options({ shards: 2 }), { values: ckpt.values, optimizer: ckpt.optimizer, state: ckpt.trainer.state });
    expect(resumed.step).toBe(3);
    const after = await losses(resumed, 3);
    expect([...before, ...after]).toEqual(expected);
    const a = await straight.parameterValues();
    const b = await resumed.parameterValues();
    for (const [name, v] of a) expect(b.get(name), name).toEqual(v);
  });

  test('behavior: checkpoints after a rewound step are forgotten, so saving that step again writes the state of now', async () => {
    const t = new Trainer(new CpuBackend(), TEXT, options({ shards: 2 }));
    const dir = mkdtempSync(join(tmpdir(), 'openshard-forget-'));
    dirs.push(dir);
    const { config: _, ...saved } = t.options;
    const save = async (step: number) =>
      saveCheckpoint(dir, {
        config: SMALL,
        values: await t.parameterValues(),
        optimizer: await t.optimizerState(),
        trainer: { format: 1, backend: 'cpu', state: { ...t.state, step }, options: saved, corpus: { source: 'test', trainBytes: TEXT.length, trainCrc32: '0' } },
      });
    for (const step of [1, 2, 3]) await save(step);
    const before = readFileSync(join(await save(3), 'model.safetensors'));
    await save(1);
    forgetCheckpointsAfter(dir, 1);
    expect(existsSync(join(dir, 'checkpoints', 'step-000001'))).toBe(true);
    expect(existsSync(join(dir, 'checkpoints', 'step-000002'))).toBe(false);
    expect(existsSync(join(dir, 'checkpoints', 'step-000003'))).toBe(false);
    await losses(t, 1);
    expect(readFileSync(join(await save(3), 'model.safetensors')).equals(before)).toBe(false);
  });
});
