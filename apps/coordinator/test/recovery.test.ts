import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBrownCorpus } from '@openshard/data/node';
import { preset } from '@openshard/model';
import { runOptimizer } from '../src/run/run-spec.ts';
import { CpuBackend } from '@openshard/tensor';
import { loadCheckpoint, resolveCheckpoint, Trainer } from '@openshard/trainer';
import { afterAll, describe, expect, test } from 'vitest';
import { openSqliteStores } from '../src/store/sqlite/open-sqlite-stores.ts';

const ROUNDS = 12;
const RUN = ['--preset', 'tiny', '--shards', '3', '--batch', '1', '--micro-batches', '2', '--seed', '21', '--rounds', String(ROUNDS), '--checkpoint-every', '3', '--traffic', 'exact'];
const TASKS_PER_ROUND = 2 * (2 * 2 + 1);

const dataDir = mkdtempSync(join(tmpdir(), 'openshard-recovery-'));
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function start(args: string[], script = 'apps/coordinator/src/cli.ts'): { child: ChildProcess; lines: string[]; waitFor: (re: RegExp) => Promise<string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  let buffered = '';
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const l of parts) {
      lines.push(l);
      for (const w of waiters.filter((w) => w.re.test(l))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(l);
      }
    }
  });
  const waitFor = (re: RegExp) => {
    const seen = lines.find((l) => re.test(l));
    return seen ? Promise.resolve(seen) : new Promise<string>((resolve) => waiters.push({ re, resolve }));
  };
  return { child, lines, waitFor };
}

describe('coordinator crash recovery (SQLite, real processes)', () => {
  test('behavior: SIGKILLed mid-run and restarted, it resumes from its last checkpoint; final weights equal an uninterrupted run; no round counted twice', async () => {
    const config = preset('tiny');
    const trainer = new Trainer(new CpuBackend(), loadBrownCorpus().train, {
      config,
      shards: 1,
      batch: 1,
      microBatches: 2,
      seed: 21,
      optimizer: runOptimizer(ROUNDS),
    });
    const expectedLosses: number[] = [];
    for (let i = 0; i < ROUNDS; i++) expectedLosses.push((await trainer.trainStep()).loss);
    const expected = await trainer.parameterValues();

    const port = String(await freePort());
    const first = start([...RUN, '--port', port, '--data-dir', dataDir]);
    await first.waitFor(/^coordinator: /);
    for (let i = 0; i < 4; i++) start(['--url', `http://127.0.0.1:${port}`, '--name', `v${i}`], 'packages/volunteer/src/cli.ts');
    await first.waitFor(/^round 4:/);
    await new Promise((r) => setTimeout(r, Math.random() * 300));
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));

    const second = start([...RUN, '--port', port, '--data-dir', dataDir, '--exit-when-done']);
    const resumed = await second.waitFor(/^(resumed run|new run)/);
    expect(resumed).toMatch(/^resumed run \S+ at round (3|6)\b/);
    await new Promise((r) => second.child.once('exit', r));
    expect(second.lines).toContain('the run is complete');

    const stores = await openSqliteStores(join(dataDir, 'openshard.sqlite'));
    const store = stores.runs;
    const run = (await store.latestRun())!;
    const rounds = await store.rounds(run.id);
    expect(rounds.map((r) => r.round)).toEqual([...Array(ROUNDS).keys()]);
    rounds.forEach((r, i) => expect(Math.abs(r.loss - expectedLosses[i]) / expectedLosses[i]).toBeLessThanOrEqual(1e-5));
    const logged = await store.tasks(run.id);
    // audits (re-executions by another volunteer) are logged as work too, each once
    const tasks = logged.filter((t) => !t.taskId.includes('/audit/'));
    expect(tasks).toHaveLength(ROUNDS * TASKS_PER_ROUND);
    expect(new Set(logged.map((t) => t.taskId)).size).toBe(logged.length);
    await stores.close();

    const final = loadCheckpoint(resolveCheckpoint(join(dataDir, 'runs', run.id)), config);
    expect(final.trainer.state.step).toBe(ROUNDS);
    for (const [name, v] of expected) expect(final.values.get(name), name).toEqual(v);
  }, 300_000);
});
