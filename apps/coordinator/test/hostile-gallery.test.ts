import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBrownCorpus } from '@openshard/data/node';
import { preset } from '@openshard/model';
import { DASHBOARD_NAMESPACE, type DashboardSnapshot, type Traffic } from '@openshard/protocol';
import { CpuBackend } from '@openshard/tensor';
import { Trainer } from '@openshard/trainer';
import { io } from 'socket.io-client';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { runOptimizer } from '../src/run/run-spec.ts';
import { DEFAULT_COORDINATOR, startCoordinator, type CoordinatorOptions } from '../src/start-coordinator.ts';
import { DEFAULT_TRUST } from '../src/trust/trust-book.ts';
import { TURNCOAT_HONEST_TASKS, type Cheat } from './support/cheats.ts';

/**
 * The gallery of hostile volunteers (real processes, real sockets, SQLite): each lies in its own
 * way beside honest volunteers. Each is caught within a stated number of its tasks, banned by
 * address and refused when it reconnects, earns no shares, and the model ends exactly where the
 * single-process trainer does (in exact traffic; in compact traffic, where an honest compact run
 * does): everything it touched was undone and trained again.
 */
const ROUNDS = 12;
const NETWORK: CoordinatorOptions = {
  ...DEFAULT_COORDINATOR,
  preset: 'micro',
  shards: 2,
  batch: 2,
  microBatches: 2,
  seed: 21,
  rounds: ROUNDS,
  port: 0,
  dataDir: '',
  checkpointEvery: 4,
  evalEvery: ROUNDS,
  evalBatches: 1,
  // a trusted volunteer is audited on half its tasks here, so a turncoat is found within a few rounds
  trust: { ...DEFAULT_TRUST, probation: 4, auditRate: 0.5, holdingRounds: 10, auditWaitMs: 2_000 },
  // the losses are compared with the single-process trainer's; two cheats are also run in compact traffic (below), and its own checks are in traffic.test.ts
  traffic: 'exact',
};
/** Distributed == single-process on CPU, to this relative tolerance (the model was not harmed at all). */
const LOSS_RTOL = 1e-5;
/**
 * Compact runs against an honest compact run. Measured: equal (0), but which volunteer sums which
 * micro-batches changes the rounding of a q8 sum; compact against exact differs by at most 7e-5
 * over these 12 rounds, so other roundings of the same honest work stay far below this.
 */
const COMPACT_LOSS_RTOL = 5e-4;
let honestCompact: number[] | null = null;

/** Polls until `ok`, for up to 30 s. */
const until = async (ok: () => boolean | Promise<boolean>, what: string) => {
  for (let i = 0; i < 600; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
};

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const children = new Set<ChildProcess>();
afterEach(() => {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
});

function spawnNode(script: string, args: string[]): ChildProcess {
  const c = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: 'ignore' });
  children.add(c);
  c.on('exit', () => children.delete(c));
  return c;
}

const honest = (url: string, name: string, key: string) => spawnNode('packages/volunteer/src/cli.ts', ['--url', url, '--name', name, '--key', key]);
const hostile = (url: string, name: string, key: string, cheat: Cheat) =>
  spawnNode('apps/coordinator/test/support/hostile-volunteer.ts', ['--url', url, '--name', name, '--key', key, '--cheat', cheat]);

let reference: number[] | null = null;
async function referenceLosses(): Promise<number[]> {
  if (reference) return reference;
  const trainer = new Trainer(new CpuBackend(), loadBrownCorpus().train, {
    config: preset(NETWORK.preset),
    shards: 1,
    batch: NETWORK.batch,
    microBatches: NETWORK.microBatches,
    seed: NETWORK.seed,
    optimizer: runOptimizer(NETWORK.rounds),
  });
  reference = [];
  for (let i = 0; i < ROUNDS; i++) reference.push((await trainer.trainStep()).loss);
  return reference;
}

interface Crew {
  honest: number;
  cheats: Cheat[];
}

/** Trains the network to the end with this crew; returns what the store, the dashboard and the coordinator saw. */
async function train(crew: Crew, traffic: Traffic = NETWORK.traffic) {
  const dataDir = mkdtempSync(join(tmpdir(), 'openshard-gallery-'));
  dirs.push(dataDir);
  /** Accepted results per volunteer name, and how many were accepted before its ban. */
  const accepted = new Map<string, number>();
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const network = await startCoordinator({
    ...NETWORK,
    traffic,
    dataDir,
    onTaskAccepted: (lease) => {
      const name = network.coordinator.volunteers.get(lease.volunteerId)?.name ?? '?';
      accepted.set(name, (accepted.get(name) ?? 0) + 1);
    },
    onFinished: () => finish(),
  });
  try {
    const url = network.server.url;
    const keys = new Map<string, string>();
    for (let i = 0; i < crew.honest; i++) keys.set(`honest-${i}`, generatePrivateKey());
    crew.cheats.forEach((c, i) => keys.set(`cheat-${c}-${i}`, generatePrivateKey()));
    // Joins in a fixed order, each awaited: one honest volunteer (shard 0), then the cheaters (the
    // first holds the last shard, where the loss is reported), then the honest rest.
    const spawnOne = ([name, key]: [string, string]) => (name.startsWith('honest') ? honest(url, name, key) : hostile(url, name, key, name.split('-').slice(1, -1).join('-') as Cheat));
    const entries = [...keys];
    const ordered = [...entries.filter(([n]) => n === 'honest-0'), ...entries.filter(([n]) => n.startsWith('cheat'))];
    const address = (name: string) => privateKeyToAccount(keys.get(name) as `0x${string}`).address;
    for (const entry of ordered) {
      spawnOne(entry);
      // joined (or joined and was caught already)
      const bans = async () => new Set((await network.stores.runs.bans()).map((b) => b.address));
      await until(async () => [...network.coordinator.volunteers.values()].some((v) => v.name === entry[0]) || (await bans()).has(address(entry[0])), `${entry[0]} to join`);
    }
    for (const entry of entries.filter((e) => !ordered.includes(e))) spawnOne(entry);
    await finished;
    const { runs } = network.stores;
    const bans = new Set((await runs.bans()).map((b) => b.address));
    // every banned cheater comes back with the same wallet: the dashboard must say it was refused
    const dashboard = io(`${url}${DASHBOARD_NAMESPACE}`, { transports: ['websocket'], reconnection: false });
    const snapshot = await new Promise<DashboardSnapshot>((r) => dashboard.once('snapshot', r));
    const events = snapshot.events.map((e) => `${e.kind}: ${e.text}`);
    const banned = [...keys].filter(([n]) => bans.has(address(n)));
    const refusedAll = new Promise<void>((resolve) => {
      const waiting = new Set(banned.map(([n]) => n));
      if (!waiting.size) resolve();
      dashboard.on('event', (e: { kind: string; text: string }) => {
        events.push(`${e.kind}: ${e.text}`);
        for (const n of waiting) if (e.text.startsWith(`${n} (`) && e.text.includes('tried to rejoin')) waiting.delete(n);
        if (!waiting.size) resolve();
      });
    });
    for (const [name, key] of banned) hostile(url, name, key, name.split('-').slice(1, -1).join('-') as Cheat);
    await refusedAll;
    dashboard.close();
    return {
      losses: (await runs.rounds(network.runId)).map((r) => r.loss),
      shares: await runs.shares(network.runId),
      bans,
      events,
      accepted,
      address,
      names: [...keys.keys()],
    };
  } finally {
    await network.close();
  }
}

/**
 * The one cheater of a crew of three joined second, so it held the last shard (the one that
 * reports the loss); it was caught, banned and refused on reconnect within DETECTED_WITHIN of its
 * results, and earned nothing while the honest volunteers did; every round was trained.
 */
function expectCaught(r: Awaited<ReturnType<typeof train>>, cheat: Cheat): void {
  const name = `cheat-${cheat}-0`;
  const address = r.address(name);
  expect(r.events).toContain(`join: ${name} joined (cpu) and holds shard ${NETWORK.shards - 1}`);
  expect(r.bans.has(address), `${name} banned; events:\n${r.events.join('\n')}`).toBe(true);
  expect(r.events.some((e) => e.startsWith(`cheat: ${name} was caught cheating`))).toBe(true);
  expect(r.events.some((e) => e.includes(`${name} (${address}) tried to rejoin, but that address is banned`))).toBe(true);
  expect(r.accepted.get(name) ?? 0).toBeLessThanOrEqual(DETECTED_WITHIN[cheat]);
  expect(r.shares.get(address) ?? 0n).toBe(0n);
  for (const h of r.names.filter((n) => n.startsWith('honest'))) expect(r.shares.get(r.address(h)) ?? 0n).toBeGreaterThan(0n);
  expect(r.losses).toHaveLength(ROUNDS);
}

/**
 * Results of a cheater the coordinator accepts (provisionally, pending audit) before it is caught:
 * every result of a new volunteer is audited, but it may be given more tasks while its first
 * audit is still out (or it may be caught first as an auditor).
 */
const AUDIT_IN_FLIGHT = 3;
const DETECTED_WITHIN: Record<Cheat, number> = {
  random: AUDIT_IN_FLIGHT,
  zeros: AUDIT_IN_FLIGHT,
  scaled: AUDIT_IN_FLIGHT,
  nudged: AUDIT_IN_FLIGHT,
  'wrong-inputs': AUDIT_IN_FLIGHT,
  // honest while on probation and beyond; once it lies, each result is audited with p = 0.5
  turncoat: TURNCOAT_HONEST_TASKS + 12,
  'lying-loss': AUDIT_IN_FLIGHT,
  // its first result of each of the three task kinds is honest
  copy: 3 + AUDIT_IN_FLIGHT,
};

describe('hostile volunteers (real processes, real sockets, SQLite)', () => {
  test.each(['random', 'zeros', 'scaled', 'nudged', 'wrong-inputs', 'turncoat', 'lying-loss', 'copy'] as const)(
    'behavior: a volunteer whose results are %s is caught, banned and refused on reconnect, earns nothing, and the model is unharmed',
    async (cheat) => {
      const expected = await referenceLosses();
      const r = await train({ honest: 2, cheats: [cheat] });
      expectCaught(r, cheat);
      r.losses.forEach((l, i) => expect(Math.abs(l - expected[i]) / expected[i], `round ${i}`).toBeLessThanOrEqual(LOSS_RTOL));
    },
    180_000,
  );

  // compact traffic (the default): a lie reaches the model through a q8 boundary tensor or a kept gradient sum;
  // no single-process run takes its steps, so an honest compact run is the reference
  test.each(['random', 'nudged'] as const)(
    'behavior: in compact traffic a volunteer whose results are %s is caught, banned, earns nothing, and the run ends where an honest one does',
    async (cheat) => {
      honestCompact ??= (await train({ honest: 2, cheats: [] }, 'compact')).losses;
      const r = await train({ honest: 2, cheats: [cheat] }, 'compact');
      expectCaught(r, cheat);
      r.losses.forEach((l, i) => expect(Math.abs(l - honestCompact![i]) / honestCompact![i], `round ${i}`).toBeLessThanOrEqual(COMPACT_LOSS_RTOL));
    },
    360_000,
  );

  test('behavior: with 20% of volunteers cheating in mixed ways, every cheater is banned and the run matches the honest one', async () => {
    const expected = await referenceLosses();
    const r = await train({ honest: 8, cheats: ['random', 'nudged'] });
    for (const name of r.names.filter((n) => n.startsWith('cheat'))) {
      expect(r.bans.has(r.address(name)), `${name} banned; events:\n${r.events.join('\n')}`).toBe(true);
      expect(r.shares.get(r.address(name)) ?? 0n).toBe(0n);
    }
    r.losses.forEach((l, i) => expect(Math.abs(l - expected[i]) / expected[i], `round ${i}`).toBeLessThanOrEqual(LOSS_RTOL));
  }, 300_000);
});
