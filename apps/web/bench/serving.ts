/**
 * npm run bench:inference (its second part) [-- --requests 5] [--tokens 48] [--out bench-results/inference.json]
 *
 * Generation speed through the protocol served by a Chromium tab (the web app's volunteer worker)
 * holding the whole tiny model (1 shard), on onnxruntime-web's WebGPU and on its wasm backend (a tab
 * without WebGPU): time to first token and tokens/s over the OpenAI API, streamed, greedy. Appends
 * its rows to the JSON the first part (apps/coordinator/bench/inference.ts) wrote and prints the
 * whole table against that run's direct in-process peer.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from '@playwright/test';
import OpenAI from 'openai';
import { trainedCheckpoint } from '../../../packages/trainer/test/support/served-checkpoint.ts';
import { chromiumLaunchOptions, chromiumWithoutWebGpu } from '../../../packages/tensor/test/browser/chromium.ts';
import { startCoordinatorProcess, startWebApp } from '../test/local-network.ts';

const { values: args } = parseArgs({ options: { requests: { type: 'string' }, tokens: { type: 'string' }, out: { type: 'string' } } });
const REQUESTS = Number(args.requests ?? 5);
const TOKENS = Number(args.tokens ?? 48);
const OUT = args.out ?? 'bench-results/inference.json';
const PROMPT = 'It was the ';
/** Training tasks stretched 10× in the tab, so serving has the cores. */
const TAB_SLOWDOWN = 10;

interface Row {
  setup: string;
  shards: number;
  servers: string;
  ttftMs: number;
  tokensPerSecond: number;
  vsDirect: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const checkpoint = await trainedCheckpoint(3, 'tiny');

async function throughTab(backend: 'webgpu' | 'wasm'): Promise<Row> {
  const coordinator = await startCoordinatorProcess([
    '--preset',
    'tiny',
    '--shards',
    '1',
    '--batch',
    '1',
    '--micro-batches',
    '1',
    '--rounds',
    '100000',
    '--eval-every',
    '100000',
    '--eval-batches',
    '1',
    '--no-verification',
    '--serve-checkpoint',
    checkpoint,
  ]);
  const web = await startWebApp(coordinator.url);
  const browser = await chromium.launch(backend === 'webgpu' ? chromiumLaunchOptions : chromiumWithoutWebGpu);
  try {
    const page = await browser.newPage();
    await page.goto(`${web.url}?slowdown=${TAB_SLOWDOWN}#/contribute`);
    await page.getByRole('button', { name: backend === 'webgpu' ? 'Contribute this GPU' : 'Contribute with the CPU instead' }).click();
    await page
      .getByTestId('status-serving')
      .and(page.locator(`[data-backend="${backend}"]`))
      .waitFor({ timeout: 180_000 });
    const client = new OpenAI({ baseURL: `${coordinator.url}/v1`, apiKey: 'bench', maxRetries: 0 });
    const once = async () => {
      const started = performance.now();
      let first = 0;
      let n = 0;
      const stream = await client.completions.create({ model: 'openshard-tiny', prompt: PROMPT, max_tokens: TOKENS, temperature: 0, stream: true, stream_options: { include_usage: true } });
      for await (const c of stream) {
        if (c.choices[0]?.text) first ||= performance.now();
        if (c.usage) n = c.usage.completion_tokens;
      }
      return { ttftMs: first - started, tokensPerSecond: (n - 1) / ((performance.now() - first) / 1000) };
    };
    await once();
    const runs = [];
    for (let i = 0; i < REQUESTS; i++) runs.push(await once());
    const served = await page.getByTestId('status-served').getAttribute('data-positions');
    if (!(Number(served) > 0)) throw new Error(`the ${backend} tab says it served ${served} positions: the coordinator served instead`);
    const label = backend === 'webgpu' ? 'a Chromium tab, onnxruntime-web WebGPU (SwiftShader)' : 'a Chromium tab without WebGPU, onnxruntime-web wasm';
    return {
      setup: 'protocol (OpenAI API, streamed)',
      shards: 1,
      servers: label,
      ttftMs: median(runs.map((r) => r.ttftMs)),
      tokensPerSecond: median(runs.map((r) => r.tokensPerSecond)),
      vsDirect: NaN,
    };
  } finally {
    await browser.close();
    await web.server.close();
    await coordinator.stop();
  }
}

const report = existsSync(OUT) ? (JSON.parse(readFileSync(OUT, 'utf8')) as { rows: Row[] }) : { rows: [] as Row[] };
const rows = report.rows.filter((r) => !r.servers.startsWith('a Chromium tab'));
for (const backend of ['webgpu', 'wasm'] as const) {
  rows.push(await throughTab(backend));
  console.error(`  a Chromium tab on ${backend}: done`);
}
const peer = rows.find((r) => r.setup.startsWith('direct: onnxruntime'))?.tokensPerSecond ?? NaN;
for (const r of rows) r.vsDirect = r.tokensPerSecond / peer;
console.log('\nsetup                                                shards  served by                                              first token  tokens/s  vs direct onnxruntime');
for (const r of rows) {
  console.log(
    `${r.setup.padEnd(52)} ${String(r.shards).padStart(6)}  ${r.servers.padEnd(54)} ${r.ttftMs.toFixed(1).padStart(8)} ms ${r.tokensPerSecond.toFixed(1).padStart(9)} ${r.vsDirect.toFixed(2).padStart(8)}×`,
  );
}
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, `${JSON.stringify({ ...report, rows }, null, 2)}\n`);
console.log(`wrote ${OUT}`);
rmSync(dirname(dirname(checkpoint)), { recursive: true, force: true });
process.exit(0);
