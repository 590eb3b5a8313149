import { chromium, expect, test, type Browser, type Page } from '@playwright/test';
import { chromiumLaunchOptions } from '../../../packages/tensor/test/browser/chromium.ts';
import { BUILD_TIMEOUT_MS, buildWebApp, RunObserver, startCoordinatorProcess, type CoordinatorProcess } from './local-network.ts';

/**
 * A newcomer's first run: `npm start` as the README gives it (tiny preset, 4 shards, the built app
 * served by the coordinator, a local chain) on a free port and its own data folder, and one
 * WebGPU tab (SwiftShader) with no Node volunteers. The tab holds one shard; the coordinator
 * computes the three nobody holds, so rounds close and the loss falls. Then the tab pauses, a
 * second tab joins, and training goes on.
 */

let coordinator: CoordinatorProcess | null = null;
let observer: RunObserver | null = null;
let browser: Browser | null = null;

test.beforeAll(async () => {
  test.setTimeout(BUILD_TIMEOUT_MS + 30_000);
  buildWebApp();
});

test.afterEach(async () => {
  await browser?.close();
  observer?.close();
  await coordinator?.stop();
  browser = null;
  observer = null;
  coordinator = null;
});

async function contribute(page: Page, url: string): Promise<number> {
  await page.goto(url);
  await page.getByRole('button', { name: 'Contribute this GPU' }).click();
  await expect(page.getByTestId('status-shard')).toHaveText(/^\d+ \(layer/, { timeout: 90_000 });
  return Number.parseInt((await page.getByTestId('status-shard').textContent())!, 10);
}

const accepted = async (page: Page) => Number(await page.getByTestId('status-tasks-accepted').textContent());

/** "training loss 5.545 → 4.901 over 9 rounds" → [5.545, 4.901]. */
async function lossEnds(dashboard: Page): Promise<[number, number]> {
  const text = (await dashboard.getByTestId('loss-summary').textContent())!;
  const m = /training loss ([\d.]+) → ([\d.]+)/.exec(text);
  if (!m) throw new Error(`the dashboard's loss summary is '${text}'`);
  return [Number(m[1]), Number(m[2])];
}

test('behavior: the default npm start with one WebGPU tab trains (the coordinator computes the shards nobody holds); the tab pauses, a second joins, and training goes on', async () => {
  test.setTimeout(600_000);
  coordinator = await startCoordinatorProcess(['--chain-port', '0'], undefined, true);
  const origin = coordinator.url;
  // printed once the whole start-up (chain, served model, web app) is done, after the coordinator's own line
  await expect.poll(() => coordinator!.output.join(''), { timeout: 120_000 }).toContain(`web app: ${origin}/`);
  observer = new RunObserver(origin);
  browser = await chromium.launch(chromiumLaunchOptions);

  const first = await browser.newPage();
  const shard = await contribute(first, `${origin}/#/contribute`);
  const dashboard = await browser.newPage();
  await dashboard.goto(`${origin}/#/dashboard`);

  const obs = observer;
  await obs.until(() => obs.rounds.length >= 6, 'six rounds with one tab', 360_000);
  const others = [0, 1, 2, 3].filter((s) => s !== shard);
  expect(obs.events.some((e) => e.kind === 'stand-in' && e.text.includes(`the coordinator computes shards ${others.join(', ')}`))).toBe(true);
  await expect(dashboard.getByTestId(`shard-${others[0]}-trainer`)).toContainText('the coordinator', { timeout: 10_000 });
  await expect(dashboard.getByTestId(`shard-${shard}-trainer`)).toHaveText('volunteers');
  await expect.poll(async () => (await lossEnds(dashboard))[1], { timeout: 30_000 }).toBeLessThan((await lossEnds(dashboard))[0] - 0.05);
  expect(await accepted(first)).toBeGreaterThan(0);

  // the only tab pauses: after the grace period the coordinator computes its shard too; a second tab takes it
  await first.getByRole('button', { name: 'Pause' }).click();
  const second = await browser.newPage();
  const secondShard = await contribute(second, `${origin}/#/contribute`);
  expect(secondShard).toBe(shard);
  const paused = await accepted(first);
  const before = obs.rounds.length;
  await obs.until(() => obs.rounds.length >= before + 3, 'three more rounds after the pause', 240_000);
  await expect.poll(() => accepted(second), { timeout: 30_000 }).toBeGreaterThan(0);
  expect(await accepted(first)).toBe(paused);
  const [start, end] = await lossEnds(dashboard);
  expect(end).toBeLessThan(start - 0.05);
});

test('behavior: when the run completes the tab and the dashboard say so, and the dashboard links to the final checkpoint with its model card', async () => {
  test.setTimeout(300_000);
  const rounds = 4;
  coordinator = await startCoordinatorProcess(
    ['--chain-port', '0', '--preset', 'micro', '--shards', '2', '--batch', '1', '--micro-batches', '2', '--rounds', String(rounds), '--checkpoint-every', '2', '--stand-in-seconds', '1'],
    undefined,
    true,
  );
  const origin = coordinator.url;
  browser = await chromium.launch(chromiumLaunchOptions);
  const tab = await browser.newPage();
  await contribute(tab, `${origin}/#/contribute`);
  const dashboard = await browser.newPage();
  await dashboard.goto(`${origin}/#/dashboard`);

  await expect(tab.getByTestId('run-finished')).toContainText(`The run is complete (${rounds} rounds)`, { timeout: 240_000 });
  await expect(tab.getByTestId('run-finished')).toHaveAttribute('data-rounds', String(rounds));
  await expect(dashboard.getByTestId('run-complete')).toContainText('Run complete', { timeout: 30_000 });
  const card = dashboard.getByTestId('run-complete').getByRole('link', { name: /README\.md/ });
  await expect(card).toBeVisible({ timeout: 30_000 });
  const text = await (await dashboard.request.get((await card.getAttribute('href'))!)).text();
  expect(text).toContain(`round ${rounds} of ${rounds}`);
  expect(text).toContain('GPT2LMHeadModel.from_pretrained');
});
