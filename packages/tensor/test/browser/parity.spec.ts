import { expect, test } from '@playwright/test';
import { fileURLToPath } from 'node:url';
import { startPageServer } from './harness-server.ts';

type Api = {
  hasWebGpu(): Promise<boolean>;
  parity(): Promise<{ adapter: { vendor: string; architecture: string }; rows: { case: string; output: string; ok: boolean; maxAbsError: number }[] }>;
  blockSteps(steps: number): Promise<{ cpu: number[]; webgpu: number[]; pool: { live: number } }>;
};
declare global {
  interface Window {
    parityApi: Api;
  }
}

let server: Awaited<ReturnType<typeof startPageServer>>;
test.beforeAll(async () => {
  server = await startPageServer(fileURLToPath(new URL('.', import.meta.url)));
});
test.afterAll(async () => server?.close());

test.beforeEach(async ({ page }) => {
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(server.url);
  await expect(page.locator('#log')).toHaveText('ready');
});

test('behavior: Chromium exposes a WebGPU adapter', async ({ page }) => {
  expect(await page.evaluate(() => window.parityApi.hasWebGpu())).toBe(true);
});

test('behavior: every op forward and backward on WebGPU in Chromium matches the CPU reference', async ({ page }) => {
  const { adapter, rows } = await page.evaluate(() => window.parityApi.parity());
  console.log(`adapter: ${adapter.vendor} ${adapter.architecture}; ${rows.length} outputs compared`);
  expect(rows.length).toBeGreaterThan(50);
  const failed = rows.filter((r) => !r.ok);
  expect(failed, JSON.stringify(failed, null, 1)).toEqual([]);
});

test('behavior: a block trained for 5 steps on WebGPU in Chromium tracks the CPU reference', async ({ page }) => {
  const { cpu, webgpu } = await page.evaluate(() => window.parityApi.blockSteps(5));
  expect(webgpu.length).toBe(cpu.length);
  for (let i = 0; i < cpu.length; i++) expect(Math.abs(webgpu[i] - cpu[i])).toBeLessThan(1e-3 * (1 + Math.abs(cpu[i])));
});
