import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, expect, test, type Browser } from '@playwright/test';
import type { Address } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { chromiumLaunchOptions } from '../../../packages/tensor/test/browser/chromium.ts';
import { BUILD_TIMEOUT_MS, buildWebApp, startCoordinatorProcess, type CoordinatorProcess } from './local-network.ts';

/**
 * One origin, as a deployment runs it: the coordinator CLI with `--web` serves the built app
 * (dist/web) from its own port beside Socket.IO and its HTTP routes, with no Vite process. The
 * pages load from the build, are cross-origin isolated, train, show the run and sign in with
 * Ethereum against the coordinator's own URL (its port chosen at start-up).
 */
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const BUILD = join(ROOT, 'dist', 'web');
const DEV_MNEMONIC = 'test test test test test test test test test test test junk';
const HOLDER = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 3 });

let coordinator: CoordinatorProcess | null = null;
let browser: Browser | null = null;

test.beforeAll(async () => {
  test.setTimeout(BUILD_TIMEOUT_MS + 30_000);
  // the CLI builds a stale app itself; built here first, so its start-up stays within the helper's timeout
  buildWebApp();
});

test.afterEach(async () => {
  await browser?.close();
  await coordinator?.stop();
  browser = null;
  coordinator = null;
});

test('behavior: the coordinator serves the built app on its own origin: Contribute trains, Dashboard shows the run, Earnings signs in, all cross-origin isolated', async () => {
  test.setTimeout(240_000);
  coordinator = await startCoordinatorProcess(['--web', '--chain-port', '0', '--preset', 'micro', '--shards', '1', '--batch', '1', '--micro-batches', '2', '--rounds', '2000']);
  const origin = coordinator.url;
  // the URLs are printed once the whole start-up (chain, served model, web app) is done, after the coordinator's own line
  await expect.poll(() => coordinator!.output.join(''), { timeout: 120_000 }).toContain(`web app: ${origin}/ (contribute: ${origin}/#/contribute`);
  expect(coordinator.output.join('')).toContain(`sign-in (SIWE) origin: ${origin}`);
  const chainFile = JSON.parse(readFileSync(join(coordinator.dataDir, 'chain.json'), 'utf8')) as { chainId: number; distributor: Address };

  browser = await chromium.launch(chromiumLaunchOptions);
  const page = await browser.newPage();
  const requested: string[] = [];
  page.on('request', (r) => requested.push(new URL(r.url()).pathname));

  // Contribute: the page and its worker from the build, a task trained and accepted over the same origin's socket
  await page.goto(`${origin}/#/contribute`);
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  expect(await page.evaluate(() => typeof SharedArrayBuffer)).toBe('function');
  await expect(page.locator('#capability')).toContainText('WebGPU adapter: google swiftshader');
  await expect(page.getByText("Check this GPU's kernels")).toBeVisible();
  await page.getByRole('button', { name: 'Contribute this GPU' }).click();
  await expect.poll(async () => Number(await page.getByTestId('status-tasks-accepted').textContent()), { timeout: 90_000 }).toBeGreaterThan(0);
  expect(requested.some((p) => /^\/assets\/volunteer\.worker-.+\.js$/.test(p))).toBe(true);
  // no dev server: nothing from Vite's client or the sources
  expect(requested.filter((p) => p.startsWith('/@') || p.startsWith('/src/'))).toEqual([]);

  // Dashboard: the snapshot and closed rounds from the coordinator
  const dashboard = await browser.newPage();
  await dashboard.goto(`${origin}/#/dashboard`);
  expect(await dashboard.evaluate(() => crossOriginIsolated)).toBe(true);
  await expect(dashboard.getByTestId('dashboard-connection')).toHaveText('connected', { timeout: 30_000 });
  await expect(dashboard.getByTestId('volunteer-count')).toHaveText('1', { timeout: 30_000 });
  await expect(dashboard.getByTestId('loss-summary')).toBeVisible({ timeout: 60_000 });

  // Earnings: the chain from /chain, and a sign-in whose SIWE domain is this origin's
  const earnings = await browser.newPage();
  await earnings.goto(`${origin}/?mockWallet=${HOLDER.address}#/earnings`);
  expect(await earnings.evaluate(() => crossOriginIsolated)).toBe(true);
  await expect(earnings.getByText(`Chain ${chainFile.chainId} · RevenueDistributor ${chainFile.distributor}`)).toBeVisible({ timeout: 30_000 });
  await earnings.getByRole('button', { name: /^Connect Mock/ }).click();
  await expect(earnings.getByTestId('wallet-address')).toContainText(HOLDER.address, { timeout: 30_000 });
  await earnings.getByRole('button', { name: 'Sign in with Ethereum' }).click();
  await expect(earnings.getByTestId('signed-in-as')).toContainText(HOLDER.address, { timeout: 30_000 });

  // the big file streams whole, typed for streaming compilation and cached for good
  const wasm = readdirSync(join(BUILD, 'assets')).find((f) => f.endsWith('.wasm'))!;
  const response = await page.request.get(`${origin}/assets/${wasm}`);
  expect(response.status()).toBe(200);
  expect(response.headers()['content-type']).toBe('application/wasm');
  expect(response.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
  expect((await response.body()).length).toBe(readFileSync(join(BUILD, 'assets', wasm)).length);
});
