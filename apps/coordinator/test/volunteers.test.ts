import { spawn, type ChildProcess } from 'node:child_process';
import { loadBrownCorpus } from '@openshard/data/node';
import { preset } from '@openshard/model';
import { CpuBackend } from '@openshard/tensor';
import { Trainer } from '@openshard/trainer';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { runOptimizer } from '../src/run/run-spec.ts';
import { DEFAULT_COORDINATOR, startCoordinator, type CoordinatorOptions } from '../src/start-coordinator.ts';
import type { RoundSummary } from '../src/training/training-run.ts';

/** The bar: the distributed run's losses equal the single-process trainer's to 1e-5 relative (CPU). */
const LOSS_RTOL = 1e-5;
const NETWORK: CoordinatorOptions = {
  ...DEFAULT_COORDINATOR,
  preset: 'tiny',
  shards: 3,
  batch: 1,
  microBatches: 2,
  seed: 5,
  rounds: 30,
  data: 'brown',
  host: '127.0.0.1',
  port: 0,
  dataDir: '',
  checkpointEvery: 10,
  // the single-process losses bit for bit: fp32 on the wire
  traffic: 'exact',
};
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function freshDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'openshard-net-'));
  dirs.push(d);
  return d;
}

const children = new Set<ChildProcess>();
afterEach(() => {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
});

function spawnVolunteer(url: string, name: string, ...extra: string[]): ChildProcess {
  const c = spawn(process.execPath, ['--import', 'tsx', 'packages/volunteer/src/cli.ts', '--url', url, '--name', name, ...extra], { stdio: 'ignore' });
  children.add(c);
  c.on('exit', () => children.delete(c));
  return c;
}

async function referenceLosses(rounds: number): Promise<number[]> {
  const config = preset(NETWORK.preset);
  const trainer = new Trainer(new CpuBackend(), loadBrownCorpus().train, {
    config,
    shards: 1,
    batch: NETWORK.batch,
    microBatches: NETWORK.microBatches,
    seed: NETWORK.seed,
    optimizer: runOptimizer(NETWORK.rounds),
  });
  const losses = [];
  for (let i = 0; i < rounds; i++) losses.push((await trainer.trainStep()).loss);
  return losses;
}

async function train(rounds: number, during: (round: number, url: string) => void, start: (url: string) => void) {
  const summaries: RoundSummary[] = [];
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const network = await startCoordinator({
    ...NETWORK,
    dataDir: freshDir(),
    onRound: (s) => {
      summaries.push(s);
      during(s.round, network.server.url);
      if (summaries.length === rounds) finish();
    },
  });
  try {
    start(network.server.url);
    await finished;
    return { losses: summaries.map((s) => s.loss), exposure: network.coordinator.maxExposure() };
  } finally {
    await network.close();
  }
}

describe('a network of Node volunteer processes (loopback)', () => {
  test('behavior: 6 volunteers on 3 shards train 30 rounds with the single-process losses', async () => {
    const expected = await referenceLosses(30);
    const { losses, exposure } = await train(
      30,
      () => {},
      (url) => {
        for (let i = 0; i < 6; i++) spawnVolunteer(url, `v${i}`);
      },
    );
    losses.forEach((l, i) => expect(Math.abs(l - expected[i]) / expected[i], `round ${i}`).toBeLessThanOrEqual(LOSS_RTOL));
    expect(exposure).toBeLessThan(0.6);
  }, 300_000);

  test('behavior: volunteers SIGKILLed mid-run, newcomers, and one 10× slower volunteer do not change the losses', async () => {
    const rounds = 10;
    const expected = await referenceLosses(rounds);
    const crew: ChildProcess[] = [];
    const { losses } = await train(
      rounds,
      (round, url) => {
        if (round === 2 || round === 5) {
          crew.shift()?.kill('SIGKILL'); // whatever it was doing, mid-task or not
          crew.push(spawnVolunteer(url, `late-${round}`));
        }
      },
      (url) => {
        // the straggler stays for the whole run; only the others are killed
        spawnVolunteer(url, 'slow', '--slowdown', '10');
        for (let i = 0; i < 4; i++) crew.push(spawnVolunteer(url, `v${i}`));
      },
    );
    losses.forEach((l, i) => expect(Math.abs(l - expected[i]) / expected[i], `round ${i}`).toBeLessThanOrEqual(LOSS_RTOL));
  }, 300_000);
});
