/**
 * npm run bench:train [-- --batch 8] [--cpu-steps 5] [--webgpu-steps 2] [--no-webgpu] [--run data/runs/tiny]
 *   [--out bench-results/train.json]
 *
 * Tokens/s of a full training step (forward, backward, AdamW) of the tiny preset on the CPU
 * reference and on WebGPU in Node (Dawn), whole (S=1) and cut into 4 shards (whose backward
 * recomputes the forward, as volunteers do), plus the validation loss curve of the run in
 * --run (written by `npm run train`). Prints a table and writes JSON.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { loadBrownCorpus } from '@openshard/data/node';
import { DEFAULT_OPTIMIZER, partition, preset, shardRoundFlops } from '@openshard/model';
import { createBackend } from '../src/backend.ts';
import { Trainer } from '../src/trainer.ts';
import { numberFlag, parseFlags } from '../src/cli/options.ts';

const f = parseFlags(
  process.argv.slice(2),
  {
    batch: { type: 'string' },
    'cpu-steps': { type: 'string' },
    'webgpu-steps': { type: 'string' },
    'no-webgpu': { type: 'boolean' },
    run: { type: 'string' },
    out: { type: 'string' },
  },
  'see the comment at the top of packages/trainer/bench/train.ts',
);
const batch = numberFlag('batch', f.batch, 8, 1);
const runDir = f.run ?? 'data/runs/tiny';
const out = f.out ?? 'bench-results/train.json';
const config = preset('tiny');
const corpus = loadBrownCorpus();

interface Row {
  backend: string;
  shards: number;
  steps: number;
  msPerStep: number;
  tokensPerSecond: number;
  gflopPerSecond: number;
}

async function measure(backendName: 'cpu' | 'webgpu', shards: number, steps: number): Promise<Row> {
  const backend = await createBackend(backendName);
  const trainer = new Trainer(backend, corpus.train, { config, shards, batch, microBatches: 1, seed: 1337, optimizer: DEFAULT_OPTIMIZER });
  await trainer.trainStep(); // warm-up: pipelines compiled, buffers pooled
  const started = performance.now();
  for (let i = 0; i < steps; i++) await trainer.trainStep();
  const ms = (performance.now() - started) / steps;
  const flops = partition(config, shards).reduce((a, s) => a + shardRoundFlops(config, s, batch, config.contextLength), 0);
  trainer.dispose();
  backend.destroy();
  return { backend: backend.name, shards, steps, msPerStep: ms, tokensPerSecond: (trainer.tokensPerStep / ms) * 1000, gflopPerSecond: flops / ms / 1e6 };
}

const rows: Row[] = [];
for (const shards of [1, 4]) rows.push(await measure('cpu', shards, numberFlag('cpu-steps', f['cpu-steps'], 5, 1)));
if (!f['no-webgpu']) {
  for (const shards of [1, 4]) rows.push(await measure('webgpu', shards, numberFlag('webgpu-steps', f['webgpu-steps'], 2, 1)));
}

const cpuWhole = rows[0].tokensPerSecond;
console.log(`\ntiny preset (${config.layers} layers, width ${config.width}), ${batch} × ${config.contextLength} tokens per step; ${os.cpus().length} CPU cores (${os.cpus()[0]?.model ?? 'unknown'})`);
console.log('backend  shards  ms/step   tokens/s  GFLOP/s  vs cpu S=1');
for (const r of rows) {
  console.log(
    `${r.backend.padEnd(8)} ${String(r.shards).padStart(6)} ${r.msPerStep.toFixed(0).padStart(8)} ${r.tokensPerSecond.toFixed(0).padStart(10)} ${r.gflopPerSecond.toFixed(2).padStart(8)} ${(r.tokensPerSecond / cpuWhole).toFixed(2).padStart(10)}×`,
  );
}

let curve: { step: number; validationLoss: number }[] = [];
let run: Record<string, unknown> | null = null;
if (existsSync(join(runDir, 'metrics.jsonl'))) {
  curve = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((e) => 'validationLoss' in e);
  run = existsSync(join(runDir, 'run.json')) ? JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')) : null;
  console.log(`\nvalidation loss of ${runDir} (nats/byte; unigram entropy ${(run?.unigramEntropy as number | undefined)?.toFixed(4) ?? '?'}):`);
  for (const p of curve) console.log(`  step ${String(p.step).padStart(5)}  ${p.validationLoss.toFixed(4)}`);
} else {
  console.log(`\nno run in ${runDir}: run \`npm run train\` first to include its validation curve`);
}

mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
      preset: 'tiny',
      config,
      batch,
      tokensPerStep: batch * config.contextLength,
      rows,
      validationCurve: { run: runDir, unigramEntropy: run?.unigramEntropy ?? null, points: curve },
    },
    null,
    2,
  )}\n`,
);
console.log(`\nwrote ${out}`);
