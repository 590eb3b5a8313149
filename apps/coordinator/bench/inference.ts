/**
 * npm run bench:inference [-- --requests 5] [--tokens 48] [--out bench-results/inference.json]
 *
 * Generation speed through the protocol (the OpenAI API, streaming, greedy) on the tiny preset,
 * with 1 and 4 shards: served by the coordinator alone, and by Node volunteer processes
 * (onnxruntime-web wasm, one thread each) with and without the coordinator checking them; against
 * direct generation in one process on the same machine (onnxruntime with a KV cache, and our CPU
 * kernels recomputing the whole context per token, as `npm run generate` does). Reports time to
 * first token and tokens/s; prints a table and writes JSON. Browser tabs serve the same way
 * (apps/web/test/serving.spec.ts); their speed is not measured here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { encode } from '@openshard/data';
import { partition, preset, Shard } from '@openshard/model';
import { CpuBackend } from '@openshard/tensor';
import { generate as generateOnCpu, loadModel } from '@openshard/trainer';
import OpenAI from 'openai';
import { trainedCheckpoint } from '../../../packages/trainer/test/support/served-checkpoint.ts';
import * as ort from 'onnxruntime-web';
import { generate } from '../src/inference/generation.ts';
import { loadServedModel } from '../src/inference/served-model.ts';
import { DEFAULT_COORDINATOR, startCoordinator, type RunningCoordinator } from '../src/start-coordinator.ts';
import { DEFAULT_TRUST } from '../src/trust/trust-book.ts';

const { values: args } = parseArgs({ options: { requests: { type: 'string' }, tokens: { type: 'string' }, out: { type: 'string' } } });
const REQUESTS = Number(args.requests ?? 5);
const TOKENS = Number(args.tokens ?? 48);
const OUT = args.out ?? 'bench-results/inference.json';
const PROMPT = 'It was the ';
const config = preset('tiny');
ort.env.wasm.numThreads = 1;

interface Row {
  setup: string;
  shards: number;
  servers: string;
  ttftMs: number;
  tokensPerSecond: number;
  vsDirect: number;
}
const rows: Row[] = [];
const children = new Set<ChildProcess>();
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// a checkpoint of the tiny preset (a few steps: speed does not depend on what it learnt)
const work = mkdtempSync(join(os.tmpdir(), 'openshard-bench-inference-'));
const checkpoint = await trainedCheckpoint(3, 'tiny');

/** Times one generation: when its first token came and how fast the rest did. */
async function timed(run: (onToken: () => void) => Promise<number>): Promise<{ ttftMs: number; tokensPerSecond: number }> {
  const started = performance.now();
  let first = 0;
  const tokens = await run(() => {
    first ||= performance.now();
  });
  const end = performance.now();
  return { ttftMs: first - started, tokensPerSecond: (tokens - 1) / ((end - first) / 1000) };
}

async function measure(setup: string, shards: number, servers: string, once: (onToken: () => void) => Promise<number>): Promise<void> {
  await measureTimes(setup, shards, servers, () => timed(once));
}

async function measureTimes(setup: string, shards: number, servers: string, once: () => Promise<{ ttftMs: number; tokensPerSecond: number }>): Promise<void> {
  await once(); // warm-up
  const runs = [];
  for (let i = 0; i < REQUESTS; i++) runs.push(await once());
  rows.push({ setup, shards, servers, ttftMs: median(runs.map((r) => r.ttftMs)), tokensPerSecond: median(runs.map((r) => r.tokensPerSecond)), vsDirect: NaN });
  console.error(`  ${setup}, ${shards} shard(s), ${servers}: done`);
}

// direct, in this process: onnxruntime with a KV cache, and our kernels without one
const direct = await loadServedModel('direct', checkpoint, 1);
await measure('direct: onnxruntime, KV cache', 1, 'this process', async (onToken) => {
  let n = 0;
  for await (const _ of generate(direct.pipeline, `g${Math.random()}`, { prompt: encode(PROMPT), maxTokens: TOKENS, sampling: { temperature: 0, topK: 0 }, seed: 1, stops: [] })) {
    onToken();
    n++;
  }
  return n;
});
for (const s of direct.local) await s.release();
const { values } = loadModel(checkpoint);
const cpuShards = partition(config, 1).map((spec) => Shard.fromValues(new CpuBackend(), config, spec, (p) => values.get(p.name)!));
await measureTimes('direct: our CPU kernels, no cache (npm run generate)', 1, 'this process', async () => {
  // generate() returns at its end: the first token's time is that of a one-token run
  const t0 = performance.now();
  await generateOnCpu(cpuShards, encode(PROMPT), { maxTokens: 1, temperature: 0, topK: 0, seed: 1 });
  const ttftMs = performance.now() - t0;
  const t1 = performance.now();
  await generateOnCpu(cpuShards, encode(PROMPT), { maxTokens: TOKENS, temperature: 0, topK: 0, seed: 1 });
  return { ttftMs, tokensPerSecond: (TOKENS - 1) / ((performance.now() - t1 - ttftMs) / 1000) };
});

async function throughProtocol(shards: number, volunteers: number, checked: boolean): Promise<void> {
  const dataDir = mkdtempSync(join(work, 'net-'));
  const network: RunningCoordinator = await startCoordinator({
    ...DEFAULT_COORDINATOR,
    preset: 'tiny',
    shards,
    batch: 1,
    microBatches: 1,
    rounds: 1,
    port: 0,
    dataDir,
    evalBatches: 1,
    serveCheckpoint: checkpoint,
    trust: checked ? DEFAULT_TRUST : null,
  });
  const procs: ChildProcess[] = [];
  for (let i = 0; i < volunteers; i++) {
    const c = spawn(process.execPath, ['--import', 'tsx', 'packages/volunteer/src/cli.ts', '--url', network.server.url, '--name', `v${i}`], { stdio: 'ignore' });
    children.add(c);
    procs.push(c);
  }
  const deadline = Date.now() + 120_000;
  while (network.serving.hub.roster.all().length < volunteers) {
    if (Date.now() > deadline) throw new Error(`only ${network.serving.hub.roster.all().length} of ${volunteers} volunteers serve after 120 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const client = new OpenAI({ baseURL: `${network.server.url}/v1`, apiKey: 'bench', maxRetries: 0 });
  const servers = volunteers === 0 ? 'the coordinator' : `${volunteers} Node volunteers${checked ? ', each step checked by the coordinator' : ''}`;
  await measure('protocol (OpenAI API, streamed)', shards, servers, async (onToken) => {
    let n = 0;
    const stream = await client.completions.create({ model: 'openshard-tiny', prompt: PROMPT, max_tokens: TOKENS, temperature: 0, stream: true, stream_options: { include_usage: true } });
    for await (const c of stream) {
      if (c.choices[0]?.text) onToken();
      if (c.usage) n = c.usage.completion_tokens;
    }
    return n;
  });
  for (const c of procs) c.kill('SIGTERM');
  await network.close();
}

for (const shards of [1, 4]) await throughProtocol(shards, 0, false);
for (const shards of [1, 4]) await throughProtocol(shards, shards, false);
await throughProtocol(4, 4, true);

const peer = rows[0].tokensPerSecond;
for (const r of rows) r.vsDirect = r.tokensPerSecond / peer;
const cpus = os.cpus();
console.log(`\n${cpus.length} CPU cores (${cpus[0]?.model}); everything shares them. tiny preset, prompt ${PROMPT.length} tokens, ${TOKENS} generated, greedy; median of ${REQUESTS}.`);
console.log('setup                                                shards  served by                                              first token  tokens/s  vs direct onnxruntime');
for (const r of rows) {
  console.log(
    `${r.setup.padEnd(52)} ${String(r.shards).padStart(6)}  ${r.servers.padEnd(54)} ${r.ttftMs.toFixed(1).padStart(8)} ms ${r.tokensPerSecond.toFixed(1).padStart(9)} ${r.vsDirect.toFixed(2).padStart(8)}×`,
  );
}
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(
  OUT,
  `${JSON.stringify({ date: new Date().toISOString(), machine: { cpus: cpus.length, model: cpus[0]?.model, node: process.version }, preset: 'tiny', promptTokens: PROMPT.length, tokens: TOKENS, requests: REQUESTS, rows }, null, 2)}\n`,
);
console.log(`wrote ${OUT}`);
rmSync(work, { recursive: true, force: true });
rmSync(dirname(dirname(checkpoint)), { recursive: true, force: true });
process.exit(0);
