import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { chromium, expect, test, type Browser, type Page } from '@playwright/test';
import OpenAI from 'openai';
import { chromiumLaunchOptions } from '../../../packages/tensor/test/browser/chromium.ts';
import { RunObserver, startCoordinatorProcess, startWebApp, type CoordinatorProcess } from './local-network.ts';
import { greedyReference, trainedCheckpoint } from '../../../packages/trainer/test/support/served-checkpoint.ts';

/**
 * Serving from browser tabs: the coordinator CLI serving a trained micro checkpoint cut in two,
 * two WebGPU tabs that each hold a shard and serve it with onnxruntime-web, and the OpenAI API
 * (the `openai` client) generating through them. Without verification the tabs' outputs are the
 * text, not the coordinator's re-execution.
 */
const PROMPT = 'It was ';
/** Prompt and generated tokens fill the micro preset's context of 32 positions. */
const MAX_TOKENS = 24;
/** Positions each shard runs in one generation: the prompt's, then one per new token but the last. */
const GENERATION_POSITIONS = PROMPT.length + MAX_TOKENS - 1;
/** Characters streamed before the tab serving shard 1 is closed (one per token: the tokenizer is bytes). */
const CLOSE_AFTER_CHARS = 4;
const RUN = ['--preset', 'micro', '--shards', '2', '--batch', '1', '--micro-batches', '2', '--rounds', '100000', '--eval-every', '100000', '--eval-batches', '1', '--no-verification'];
/** A tab stretches each training task 10×, so training leaves the two cores mostly to serving. */
const TAB_SLOWDOWN = 10;
/**
 * Both tabs loading onnxruntime-web (29 MB of wasm), their shard's graph and its warm-up on
 * SwiftShader while they start training (ms): ~40 s here.
 */
const SERVING_READY_MS = 90_000;

let checkpointDir: string | null = null;
let coordinator: CoordinatorProcess | null = null;
let web: Awaited<ReturnType<typeof startWebApp>> | null = null;
let observer: RunObserver | null = null;
let browser: Browser | null = null;
test.afterEach(async () => {
  await browser?.close();
  observer?.close();
  await web?.server.close();
  await coordinator?.stop();
  if (checkpointDir) rmSync(checkpointDir, { recursive: true, force: true });
});

/** Starts the tab contributing; returns the shard it holds once it says it serves it on WebGPU. */
async function contributeAndServe(page: Page, url: string): Promise<number> {
  await page.goto(url);
  await page.getByRole('button', { name: 'Contribute this GPU' }).click();
  const serving = page.getByTestId('status-serving');
  await expect(serving).toHaveText(/^Serving shard [01] of openshard-micro@\S+ with onnxruntime-web \(WebGPU\)$/, { timeout: SERVING_READY_MS });
  await expect(serving).toHaveAttribute('data-backend', 'webgpu');
  const shard = Number(/^(\d+) \(/.exec((await page.getByTestId('status-shard').textContent())!)?.[1]);
  await expect(serving).toContainText(`shard ${shard} `);
  return shard;
}

/** Positions the tab says it served (its status refreshes every STATS_INTERVAL_MS). */
async function positionsServed(page: Page): Promise<number> {
  return Number(await page.getByTestId('status-served').getAttribute('data-positions'));
}

test('behavior: two WebGPU tabs serve their shards; the tab serving shard 1 closes mid-generation and the streamed text is the uninterrupted greedy one', async () => {
  test.setTimeout(180_000);
  const timings: string[] = [];
  let lapStart = Date.now();
  const lap = (what: string) => {
    timings.push(`${what} ${((Date.now() - lapStart) / 1000).toFixed(1)} s`);
    lapStart = Date.now();
  };
  const checkpoint = await trainedCheckpoint();
  checkpointDir = dirname(dirname(checkpoint));
  const reference = await greedyReference(checkpoint, PROMPT, MAX_TOKENS);
  lap('checkpoint and CPU reference');
  coordinator = await startCoordinatorProcess([...RUN, '--serve-checkpoint', checkpoint]);
  web = await startWebApp(coordinator.url);
  observer = new RunObserver(coordinator.url);
  browser = await chromium.launch(chromiumLaunchOptions);
  lap('coordinator, web app, browser');
  const pages = await Promise.all([0, 1].map(() => browser!.newPage()));
  const shards = await Promise.all(pages.map((p) => contributeAndServe(p, `${web!.url}?slowdown=${TAB_SLOWDOWN}#/contribute`)));
  expect([...shards].sort()).toEqual([0, 1]);
  const names = await Promise.all(pages.map(async (p) => (await p.getByTestId('status-name').textContent())!));
  await observer.until(() => observer!.stats?.serving?.serversPerShard.join() === '1,1', 'a server for each shard', 10_000);
  lap('tabs serving on WebGPU');

  const client = new OpenAI({ baseURL: `${coordinator.url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
  const request = { model: 'openshard-micro', prompt: PROMPT, max_tokens: MAX_TOKENS, temperature: 0 };
  const uninterrupted = (await client.completions.create(request)).choices[0].text;
  lap(`${MAX_TOKENS} tokens through both tabs`);
  expect(uninterrupted).toHaveLength(MAX_TOKENS);
  // onnxruntime-web's WebGPU agrees with our CPU kernels to ~1e-6 (packages/model/test/browser/onnx-parity.spec.ts): no near-tie flips
  expect(uninterrupted).toBe(reference);
  // the tabs computed it, not the coordinator's own stages: each ran the prompt's positions, then one step per token
  for (const page of pages) await expect.poll(() => positionsServed(page), { timeout: 5_000 }).toBe(GENERATION_POSITIONS);

  const closing = shards.indexOf(1);
  let text = '';
  let textAtClose: string | null = null;
  for await (const chunk of await client.completions.create({ ...request, stream: true })) {
    text += chunk.choices[0].text;
    if (textAtClose === null && text.length >= CLOSE_AFTER_CHARS) {
      textAtClose = text;
      await pages[closing].close();
    }
  }
  lap(`${MAX_TOKENS} tokens streamed, shard 1's tab closed after ${CLOSE_AFTER_CHARS}`);
  expect(textAtClose!.length).toBeLessThan(MAX_TOKENS);
  expect(text).toBe(uninterrupted);
  await observer.until(() => observer!.events.find((e) => e.kind === 'leave' && e.text.startsWith(names[closing])), `${names[closing]} to leave`, 10_000);
  await expect.poll(() => observer!.stats?.serving?.serversPerShard, { timeout: 10_000, message: 'servers per shard after the close' }).toEqual([1, 0]);
  // the tab still open served shard 0 throughout: its part of both generations, and the prefix again for the replay
  const staying = pages[1 - closing];
  await expect(staying.getByTestId('status-serving')).toHaveText(/^Serving shard 0 of .* \(WebGPU\)$/);
  await expect.poll(() => positionsServed(staying), { timeout: 5_000 }).toBeGreaterThan(2 * GENERATION_POSITIONS);
  console.log(`serving from tabs: ${timings.join('; ')}`);
});
