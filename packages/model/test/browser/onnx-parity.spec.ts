import { expect, test, type Page } from '@playwright/test';
import { fileURLToPath } from 'node:url';
import { startPageServer } from '../../../tensor/test/browser/harness-server.ts';
import type { ExecutionProvider, Measured } from './onnx-parity-cases.ts';

/**
 * Each shard's ONNX graph (micro and tiny, cut in two) in onnxruntime-web in Chromium, on the
 * WebGPU execution provider (SwiftShader here) and on wasm, against Shard.forward on our CPU
 * backend in the same page: the largest |difference| over the largest |reference|.
 *
 * Measured here: wasm ≤ 8.2e-7, WebGPU ≤ 9.1e-7 (SwiftShader computes IEEE float32 as wasm does;
 * our CPU kernels store float32 and accumulate in float64), decoding with the KV cache equal to
 * the same provider's full forward to 6.1e-7. A hardware GPU sums in other orders and has its own
 * exp and tanh: its budget is 2e-5, still 50× inside what the coordinator accepts from a server (1e-3).
 */
const RELATIVE_TOLERANCE: Record<ExecutionProvider, number> = { webgpu: 2e-5, wasm: 4e-6 };
const PRESETS = ['micro', 'tiny'] as const;
const PROVIDERS: ExecutionProvider[] = ['webgpu', 'wasm'];

type Api = {
  adapter(): Promise<string | null>;
  shardParity(name: string, ep: ExecutionProvider): Promise<Measured[]>;
  decodeParity(name: string, ep: ExecutionProvider): Promise<Measured[]>;
};
declare global {
  interface Window {
    onnxParityApi: Api;
  }
}

// one page for every test: onnxruntime-web compiles its wasm and WebGPU its shaders once (~6 s and ~10 s here)
test.describe.configure({ mode: 'serial' });
let server: Awaited<ReturnType<typeof startPageServer>>;
let page: Page;
const measured: Measured[] = [];
test.beforeAll(async ({ browser }) => {
  server = await startPageServer(fileURLToPath(new URL('.', import.meta.url)));
  page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(server.url);
  await expect(page.locator('#log')).toHaveText('ready');
});
test.afterAll(async () => {
  await page?.close();
  await server?.close();
  const rows = measured.map((m) => `${m.ep.padEnd(7)} ${m.what.padEnd(62)} max abs ${m.maxAbs.toExponential(2)}  relative ${m.relative.toExponential(2)}`);
  const worst = PROVIDERS.map((ep) => `${ep} ${Math.max(0, ...measured.filter((m) => m.ep === ep).map((m) => m.relative)).toExponential(2)} (tolerance ${RELATIVE_TOLERANCE[ep]})`);
  console.log(`ONNX shard graphs in Chromium vs our CPU backend; worst relative: ${worst.join(', ')}\n${rows.join('\n')}`);
});

function expectWithin(rows: Measured[]): void {
  measured.push(...rows);
  for (const r of rows) expect(r.relative, `${r.what} on ${r.ep}: max abs ${r.maxAbs}`).toBeLessThanOrEqual(RELATIVE_TOLERANCE[r.ep]);
}

test('behavior: Chromium exposes a WebGPU adapter to onnxruntime-web', async () => {
  expect(await page.evaluate(() => window.onnxParityApi.adapter())).toMatch(/\S/);
});

for (const ep of PROVIDERS) {
  for (const name of PRESETS) {
    test(`behavior: each shard of ${name} cut in two gives Shard.forward's outputs on ${ep}, with an empty past and after a past`, async () => {
      const rows = await page.evaluate(([n, e]) => window.onnxParityApi.shardParity(n, e), [name, ep] as const);
      expect(rows).toHaveLength(4);
      expectWithin(rows);
    });
  }
  test(`behavior: decoding tiny on ${ep} with the KV cache (prompt, then one token at a time) gives the logits of a full forward of each prefix`, async () => {
    const rows = await page.evaluate((e) => window.onnxParityApi.decodeParity('tiny', e), ep);
    expect(rows).toHaveLength(14);
    expectWithin(rows);
  });
}
