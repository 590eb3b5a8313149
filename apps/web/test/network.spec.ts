import { chromium, expect, test, type Browser, type Page } from '@playwright/test';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { chromiumLaunchOptions, chromiumWithoutWebGpu } from '../../../packages/tensor/test/browser/chromium.ts';
import { RunObserver, startCoordinatorProcess, startWebApp, type CoordinatorProcess } from './local-network.ts';

/**
 * The whole network on loopback: the coordinator CLI, the web app's dev server, and volunteer
 * tabs in Debian's Chromium with WebGPU on SwiftShader. Everything a test looks at comes from
 * the pages, the dashboard namespace, or the coordinator's SQLite file.
 */

const ROUNDS = 40;
const RUN = ['--preset', 'micro', '--shards', '2', '--batch', '2', '--micro-batches', '2', '--rounds', String(ROUNDS), '--eval-every', '5', '--eval-batches', '2'];
/** How much lower the loss must be at the end than at the start (nats per byte). */
const LOSS_DROP = 0.5;

let coordinator: CoordinatorProcess | null = null;
let web: Awaited<ReturnType<typeof startWebApp>> | null = null;
let observer: RunObserver | null = null;
let browser: Browser | null = null;
test.afterEach(async () => {
  await browser?.close();
  observer?.close();
  await web?.server.close();
  await coordinator?.stop();
  browser = null;
  observer = null;
  web = null;
  coordinator = null;
});

async function contribute(page: Page, url: string, button: string): Promise<string> {
  await page.goto(url);
  await page.getByRole('button', { name: button }).click();
  await expect(page.getByTestId('status-shard')).toHaveText(/^\d+ \(layer/, { timeout: 60_000 });
  return (await page.getByTestId('status-name').textContent())!;
}

/** Re-executions of other volunteers' results that volunteers did (the coordinator's own are not logged). */
function auditsDone(dataDir: string): number {
  const db = new Database(join(dataDir, 'openshard.sqlite'), { readonly: true });
  try {
    return (db.prepare("SELECT COUNT(*) AS n FROM tasks WHERE task_id LIKE '%/audit/A%'").get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** The coordinator's committed record of each volunteer: accepted tasks and their work units. */
function committedWork(dataDir: string): Map<string, { tasks: number; flops: number }> {
  const db = new Database(join(dataDir, 'openshard.sqlite'), { readonly: true });
  try {
    const rows = db.prepare('SELECT volunteer, COUNT(*) AS tasks, SUM(flops) AS flops FROM tasks GROUP BY volunteer').all() as { volunteer: string; tasks: number; flops: number }[];
    return new Map(rows.map((r) => [r.volunteer, { tasks: r.tasks, flops: r.flops }]));
  } finally {
    db.close();
  }
}

test('behavior: three WebGPU tabs train the model; one closes mid-task and its task is re-issued; a lost GPU recovers; the pages agree with the coordinator', async () => {
  test.setTimeout(600_000);
  coordinator = await startCoordinatorProcess(RUN);
  web = await startWebApp(coordinator.url);
  observer = new RunObserver(coordinator.url);
  browser = await chromium.launch(chromiumLaunchOptions);

  // the third tab is slow: it holds each task for 20× its compute time
  const pages = await Promise.all([0, 1, 2].map(() => browser!.newPage()));
  const names: string[] = [];
  for (const [i, page] of pages.entries()) names.push(await contribute(page, `${web.url}${i === 2 ? '?slowdown=20' : ''}#/contribute`, 'Contribute this GPU'));
  const stats = await observer.until(() => observer!.stats?.volunteers.length === 3 && observer!.stats, 'three volunteers', 30_000);
  expect(stats.volunteers.every((v) => v.backend === 'webgpu')).toBe(true);
  expect(stats.shards.map((s) => s.volunteers).sort()).toEqual([1, 2]);
  // no volunteer has seen the whole model
  expect(stats.maxExposure).toBeLessThan(1);

  const dashboard = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await dashboard.goto(`${web.url}#/dashboard`);
  // the first visit compiles the dashboard's code: slow on a cold cache with three tabs training
  await expect(dashboard.getByTestId('dashboard-connection')).toContainText('connected', { timeout: 60_000 });
  await expect(dashboard.getByTestId('volunteer-count')).toHaveText('3', { timeout: 10_000 });
  await expect(dashboard.getByTestId('volunteer-row')).toHaveCount(3);

  // six rounds, and a tab's result confirmed by another tab's audit (while every tab is new, each result is audited;
  // the shard with one holder is audited by the coordinator, so only the shared shard's tabs audit each other)
  await observer.until(() => observer!.rounds.length >= 6 && (observer!.stats?.verification?.agreed ?? 0) > 0, 'six rounds and a tab audited by another', 120_000);

  // with the tab that shares its shard paused, the slow tab runs every task of that shard; it is
  // closed while it holds one
  const slow = names[2];
  const shardOf = (name: string) => stats.volunteers.find((v) => v.name === name)!.shard;
  const partner = pages[names.findIndex((n, i) => i < 2 && shardOf(n) === shardOf(slow))];
  await partner.getByRole('button', { name: 'Pause' }).click();
  await expect(partner.getByTestId('status-connection')).toHaveText('connected, paused', { timeout: 15_000 });
  await expect(pages[2].getByTestId('status-task')).not.toHaveText('nothing', { timeout: 60_000 });
  const held = JSON.parse((await pages[2].getByTestId('status-task').getAttribute('data-task'))!) as { kind: string; shard: number; round: number; microBatch: number };
  await pages[2].close();
  await observer.until(() => observer!.events.find((e) => e.kind === 'leave' && e.text.startsWith(slow)), `${slow} to leave`, 30_000);
  // its task goes back to the pool: at the leave, or earlier if its lease ran out while it was slow. Between reading
  // the task it shows and closing, the tab may have finished it and taken the next: then the leave re-issues that one
  const taskId = `r${held.round}/${held.kind}/s${held.shard}/m${held.microBatch}`;
  const texts = JSON.stringify(observer.events.map((e) => e.text));
  const reissue =
    observer.events.find((e) => e.text.includes(taskId) && e.text.startsWith(slow) && / re-issued$/.test(e.text)) ??
    observer.events.find((e) => e.kind === 'leave' && e.text.startsWith(`${slow} left; `) && e.text.includes(`/s${held.shard}/`) && / re-issued$/.test(e.text));
  expect(reissue, `no re-issue of ${taskId} (or of the shard's task it took next) among ${texts}`).toBeDefined();
  expect(reissue!.text).toMatch(new RegExp(`^${slow}( left; |'s lease on )`));
  await partner.getByRole('button', { name: 'Resume' }).click();
  const roundsAtClose = observer.rounds.length;
  await observer.until(() => observer!.rounds.length >= roundsAtClose + 3, 'three more rounds after the tab closed', 120_000);
  await expect(dashboard.getByTestId('volunteer-count')).toHaveText('2', { timeout: 10_000 });

  // a GPU device loss: the volunteer starts a new device, fetches its shard again and carries on
  const survivor = pages[1];
  await survivor.getByText('Diagnostics').click();
  await survivor.getByRole('button', { name: 'Simulate a GPU device loss' }).click();
  await expect(survivor.getByRole('list', { name: 'Volunteer events' })).toContainText('the GPU device was lost', { timeout: 60_000 });
  const doneAfterLoss = Number(await survivor.getByTestId('status-tasks-done').textContent());
  await expect.poll(async () => Number(await survivor.getByTestId('status-tasks-done').textContent()), { timeout: 60_000 }).toBeGreaterThan(doneAfterLoss + 2);

  await observer.until(() => observer!.stats?.finished && observer!.stats, 'the run to finish', 300_000);
  const rounds = observer.rounds;
  expect(rounds.map((r) => r.round)).toEqual(Array.from({ length: ROUNDS }, (_, i) => i + 1));
  expect(rounds.at(-1)!.loss).toBeLessThan(rounds[0].loss - LOSS_DROP);
  const validation = observer.validation;
  expect(validation[0].round).toBe(0);
  expect(validation.at(-1)!.round).toBe(ROUNDS);
  expect(validation.at(-1)!.loss).toBeLessThan(validation[0].loss - LOSS_DROP);

  // the dashboard shows the falling curves
  const summary = (await dashboard.getByTestId('loss-summary').textContent())!;
  const [, first, last, count] = /training loss ([\d.]+) → ([\d.]+) over (\d+) rounds/.exec(summary)!.map(Number);
  expect(count).toBe(ROUNDS);
  expect(last).toBeLessThan(first - LOSS_DROP);
  await expect(dashboard.getByTestId('validation-summary')).toContainText('validation loss');
  await expect(dashboard.getByRole('list', { name: 'Events' })).toContainText(`${slow} left`);

  // every tab was new, so its results were audited (by another tab, or by the coordinator's CPU kernels): none was taken for a cheat
  expect(observer.events.filter((e) => e.kind === 'cheat' || e.kind === 'rewind')).toEqual([]);
  expect(auditsDone(coordinator.dataDir), `no tab audited another; events: ${JSON.stringify(observer.events.map((e) => `${e.kind}: ${e.text}`))}`).toBeGreaterThan(0);

  // what each page says it earned is what the coordinator committed for that name
  const committed = committedWork(coordinator.dataDir);
  for (const page of pages.slice(0, 2)) {
    const name = (await page.getByTestId('status-name').textContent())!;
    const record = committed.get(name)!;
    expect(record.tasks).toBeGreaterThan(0);
    await expect(page.getByTestId('status-tasks-accepted')).toHaveText(String(record.tasks), { timeout: 5_000 });
    await expect(page.getByTestId('status-work-accepted')).toHaveAttribute('data-flops', String(record.flops));
    expect(Number(await page.getByTestId('status-tasks-done').textContent())).toBeGreaterThanOrEqual(record.tasks);
  }

  const screenshot = async (name: string, page: Page) => {
    const path = test.info().outputPath(`${name}.png`);
    await page.screenshot({ path, fullPage: true });
    await test.info().attach(name, { path, contentType: 'image/png' });
  };
  await screenshot('dashboard', dashboard);
  await screenshot('volunteer', pages[0]);
  // on a phone the page reflows instead of scrolling sideways
  await dashboard.setViewportSize({ width: 390, height: 844 });
  await expect.poll(() => dashboard.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await screenshot('dashboard-phone', dashboard);
});

test('behavior: without WebGPU the page offers the CPU; a CPU volunteer trains, gives its task back when the tab freezes, resumes, and reconnects after a coordinator crash', async () => {
  test.setTimeout(300_000);
  const args = ['--preset', 'micro', '--shards', '1', '--batch', '1', '--micro-batches', '2', '--rounds', '200', '--checkpoint-every', '2'];
  coordinator = await startCoordinatorProcess(args);
  web = await startWebApp(coordinator.url);
  observer = new RunObserver(coordinator.url);
  browser = await chromium.launch(chromiumWithoutWebGpu);
  const page = await browser.newPage();
  await page.goto(`${web.url}#/contribute`);
  await expect(page.locator('#capability')).toContainText(/^No WebGPU here: .*--enable-unsafe-webgpu/);
  await expect(page.getByRole('button', { name: 'Contribute this GPU' })).toHaveCount(0);
  const name = await contribute(page, `${web.url}#/contribute`, 'Contribute with the CPU instead');
  await expect(page.getByTestId('status-backend')).toContainText('cpu');
  await expect.poll(async () => Number(await page.getByTestId('status-tasks-accepted').textContent()), { timeout: 60_000 }).toBeGreaterThan(3);
  await observer.until(() => observer!.stats?.volunteers.find((v) => v.name === name && v.backend === 'cpu'), `${name} on the cpu backend in the coordinator's stats`, 10_000);

  // the browser freezes the tab: the volunteer stops taking tasks and gives back the one it holds
  await page.evaluate(() => document.dispatchEvent(new Event('freeze')));
  await expect(page.getByRole('list', { name: 'Volunteer events' })).toContainText('paused (tab frozen by the browser)');
  await observer.until(() => observer!.stats?.volunteers.find((v) => v.name === name && !v.accepting && !v.busy), 'the frozen volunteer to hold nothing', 10_000);
  // a CPU task cannot be interrupted: one that was computing when the tab froze may still report;
  // the first status that shows the pause comes after it
  await expect(page.getByTestId('status-connection')).toHaveText('connected, paused', { timeout: 15_000 });
  const frozenAt = Number(await page.getByTestId('status-tasks-done').textContent());
  await page.waitForTimeout(2_000);
  expect(Number(await page.getByTestId('status-tasks-done').textContent())).toBe(frozenAt);
  await page.evaluate(() => document.dispatchEvent(new Event('resume')));
  await expect.poll(async () => Number(await page.getByTestId('status-tasks-done').textContent()), { timeout: 30_000 }).toBeGreaterThan(frozenAt);

  // the coordinator crashes and comes back on the same port and data: the tab reconnects by itself
  const { port } = new URL(coordinator.url);
  await coordinator.crash();
  await expect(page.getByTestId('status-connection')).toHaveText('reconnecting', { timeout: 10_000 });
  coordinator = await startCoordinatorProcess(args, { port: Number(port), dataDir: coordinator.dataDir });
  await expect(page.getByTestId('status-connection')).toHaveText('connected', { timeout: 30_000 });
  const doneBeforeRestart = Number(await page.getByTestId('status-tasks-done').textContent());
  await expect.poll(async () => Number(await page.getByTestId('status-tasks-done').textContent()), { timeout: 60_000 }).toBeGreaterThan(doneBeforeRestart + 2);
  await expect(page.getByRole('list', { name: 'Volunteer events' })).toContainText('disconnected');
});
