import { chromium, expect, test } from '@playwright/test';
import { fileURLToPath } from 'node:url';
import { createServer, type ViteDevServer } from 'vite';
import { chromiumWithoutWebGpu } from '../../../packages/tensor/test/browser/chromium.ts';

let server: ViteDevServer;
let url: string;
test.beforeAll(async () => {
  server = await createServer({ configFile: fileURLToPath(new URL('../../../vite.config.ts', import.meta.url)), server: { port: 0 }, logLevel: 'warn' });
  await server.listen();
  const address = server.httpServer!.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
});
test.afterAll(async () => server?.close());

test('behavior: the GPU check names the adapter and passes on SwiftShader', async ({ page }) => {
  await page.goto(url);
  await expect(page.locator('#capability')).toContainText('WebGPU adapter: google swiftshader');
  await page.getByText("Check this GPU's kernels").click();
  await page.getByRole('button', { name: 'Run the kernel check' }).click();
  await expect(page.locator('#verdict')).toContainText(/^Passed: \d+ outputs of every op/, { timeout: 120_000 });
  await page.screenshot({ path: test.info().outputPath('gpu-check.png'), fullPage: true });
});

test('behavior: without WebGPU the page says so and how to enable it', async () => {
  const browser = await chromium.launch(chromiumWithoutWebGpu);
  try {
    const page = await browser.newPage();
    await page.goto(url);
    await expect(page.locator('#capability')).toContainText(/^No WebGPU here: .*--enable-unsafe-webgpu/);
    await page.getByText("Check this GPU's kernels").click();
    await expect(page.getByText('Needs WebGPU.')).toBeVisible();
    await expect(page.getByRole('button', { name: 'Run the kernel check' })).toHaveCount(0);
  } finally {
    await browser.close();
  }
});
