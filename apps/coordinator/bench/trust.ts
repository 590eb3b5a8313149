/**
 * npm run bench:trust [-- --rounds 60] [--detect-rounds 24] [--volunteers 4] [--out bench-results/trust.json]
 *
 * 1. What verification costs: the same network (micro preset, 2 shards, Node volunteer processes
 *    on loopback) without verification and with audit rates p = 1%, 5%, 20%: wall time per round
 *    against the unverified peer in the same run, and the extra compute (re-executions by
 *    volunteers and by the coordinator) as a fraction of the training compute.
 * 2. How fast each cheat of the gallery is caught: one run per cheat with honest volunteers and
 *    one cheater (default trust policy): whether it was caught as an author or as an auditor, its
 *    training results accepted before its ban, and the seconds from its first accepted result to
 *    the ban.
 * Prints tables and writes JSON.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { DASHBOARD_NAMESPACE, type DashboardEvent } from '@openshard/protocol';
import { io } from 'socket.io-client';
import { DEFAULT_COORDINATOR, startCoordinator, type CoordinatorOptions } from '../src/start-coordinator.ts';
import { DEFAULT_TRUST, type TrustPolicy } from '../src/trust/trust-book.ts';
import { CHEATS, TURNCOAT_HONEST_TASKS, type Cheat } from '../test/support/cheats.ts';

const { values: args } = parseArgs({ options: { rounds: { type: 'string' }, 'detect-rounds': { type: 'string' }, volunteers: { type: 'string' }, out: { type: 'string' } } });
const ROUNDS = Number(args.rounds ?? 60);
const DETECT_ROUNDS = Number(args['detect-rounds'] ?? 24);
const VOLUNTEERS = Number(args.volunteers ?? 4);
const OUT = args.out ?? 'bench-results/trust.json';
const RATES = [0.01, 0.05, 0.2];
const NETWORK: CoordinatorOptions = {
  ...DEFAULT_COORDINATOR,
  preset: 'micro',
  shards: 2,
  batch: 2,
  microBatches: 4,
  seed: 17,
  port: 0,
  dataDir: '',
  checkpointEvery: 1000,
  evalEvery: 1000,
  evalBatches: 1,
};

const children = new Set<ChildProcess>();
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));
function spawnTs(script: string, ...a: string[]): void {
  const c = spawn(process.execPath, ['--import', 'tsx', script, ...a], { stdio: 'ignore' });
  children.add(c);
  c.on('exit', () => children.delete(c));
}

interface Observed {
  /** Wall time of each round close (ms, performance clock). */
  closes: number[];
  /** Per volunteer name: when each of its results was accepted (ms). */
  accepted: Map<string, number[]>;
  events: (DashboardEvent & { seen: number })[];
  trainingFlops: number;
  auditFlops: number;
  counts: { audits: number; agreed: number; reexecuted: number; banned: number } | null;
}

/** Trains `rounds` rounds with honest volunteers and the given cheats; kills every volunteer after. */
async function train(trust: TrustPolicy | null, rounds: number, cheats: Cheat[]): Promise<Observed> {
  const dataDir = mkdtempSync(join(os.tmpdir(), 'openshard-bench-trust-'));
  const closes: number[] = [];
  const accepted = new Map<string, number[]>();
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const network = await startCoordinator({
    ...NETWORK,
    rounds,
    dataDir,
    trust,
    onRound: () => closes.push(performance.now()),
    onTaskAccepted: (lease) => {
      const name = network.coordinator.volunteers.get(lease.volunteerId)?.name ?? '?';
      accepted.set(name, [...(accepted.get(name) ?? []), performance.now()]);
    },
    onFinished: () => finish(),
  });
  const events: Observed['events'] = [];
  const dashboard = io(`${network.server.url}${DASHBOARD_NAMESPACE}`, { transports: ['websocket'] });
  dashboard.on('event', (e: DashboardEvent) => events.push({ ...e, seen: performance.now() }));
  try {
    for (let i = 0; i < VOLUNTEERS - cheats.length; i++) spawnTs('packages/volunteer/src/cli.ts', '--url', network.server.url, '--name', `honest-${i}`);
    for (const c of cheats) spawnTs('apps/coordinator/test/support/hostile-volunteer.ts', '--url', network.server.url, '--name', `cheat-${c}`, '--cheat', c);
    await finished;
    const tasks = await network.stores.runs.tasks(network.runId);
    const sum = (audit: boolean) => tasks.filter((t) => t.taskId.endsWith('/audit') === audit).reduce((a, t) => a + t.flops, 0);
    const counts = network.coordinator.verification ? { ...network.coordinator.verification.counts } : null;
    return { closes, accepted, events, trainingFlops: sum(false), auditFlops: sum(true), counts };
  } finally {
    dashboard.close();
    for (const c of children) c.kill('SIGKILL');
    await network.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Mean wall time per round from round `from` on (the first round's start-up, joins and weights excluded). */
function msPerRound(o: Observed, from = 0): number {
  return (o.closes.at(-1)! - o.closes[from]) / (o.closes.length - 1 - from);
}

/** The second half of the run: new volunteers' probation (every task audited) is over. */
const steady = (o: Observed) => msPerRound(o, Math.floor(o.closes.length / 2));

// 1. overhead
const started = performance.now();
const peer = await train(null, ROUNDS, []);
const peerMs = msPerRound(peer);
const meanTaskFlops = peer.trainingFlops / [...peer.accepted.values()].reduce((a, l) => a + l.length, 0);
const overhead = [];
for (const p of RATES) {
  const o = await train({ ...DEFAULT_TRUST, auditRate: p }, ROUNDS, []);
  const c = o.counts!;
  // the coordinator's re-executions are not logged per task: counted at the mean task's FLOPs
  const coordinatorFlops = c.reexecuted * meanTaskFlops;
  overhead.push({
    auditRate: p,
    msPerRound: msPerRound(o),
    wallRatio: msPerRound(o) / peerMs,
    steadyMsPerRound: steady(o),
    steadyWallRatio: steady(o) / steady(peer),
    audits: c.audits,
    agreedByVolunteers: c.agreed,
    reexecutedByCoordinator: c.reexecuted,
    volunteerExtraCompute: o.auditFlops / o.trainingFlops,
    coordinatorExtraCompute: coordinatorFlops / o.trainingFlops,
    extraCompute: (o.auditFlops + coordinatorFlops) / o.trainingFlops,
    falseBans: c.banned,
  });
}

// 2. detection latency
const detection = [];
for (const cheat of CHEATS) {
  const o = await train(DEFAULT_TRUST, DETECT_ROUNDS, [cheat]);
  const name = `cheat-${cheat}`;
  const times = o.accepted.get(name) ?? [];
  const ban = o.events.find((e) => e.kind === 'cheat' && e.text.startsWith(`${name} was caught`));
  const before = ban ? times.filter((t) => t <= ban.seen) : times;
  detection.push({
    cheat,
    caught: ban !== undefined,
    caughtAs: ban ? (ban.text.includes('its re-execution of') ? 'auditor' : 'author') : null,
    resultsAcceptedBeforeBan: before.length,
    secondsFromFirstResultToBan: ban && times.length ? (ban.seen - times[0]) / 1000 : null,
    honestByDesign: cheat === 'turncoat' ? TURNCOAT_HONEST_TASKS : cheat === 'copy' ? 'the first result of each task kind' : cheat === 'lying-loss' ? 'every result off the last shard' : 0,
    rewinds: o.events.filter((e) => e.kind === 'rewind').length,
  });
}

const cpus = os.cpus();
console.log(`\n${cpus.length} CPU cores (${cpus[0]?.model}); coordinator and ${VOLUNTEERS} volunteer processes share them.`);
console.log(
  `micro preset, 2 shards, ${NETWORK.microBatches} micro-batches × ${NETWORK.batch}; probation ${DEFAULT_TRUST.probation} audited tasks per new volunteer; spot checks ${DEFAULT_TRUST.spotCheckRate}`,
);
console.log(`\nverification overhead, ${ROUNDS} rounds (no verification: ${peerMs.toFixed(0)} ms/round)`);
console.log('audit rate  ms/round  vs none  2nd half vs none  audits  agreed  coordinator re-executions  extra compute (volunteers + coordinator)  false bans');
for (const r of overhead) {
  console.log(
    `${`${(100 * r.auditRate).toFixed(0)}%`.padStart(10)} ${r.msPerRound.toFixed(0).padStart(9)} ${r.wallRatio.toFixed(2).padStart(7)}× ${r.steadyWallRatio.toFixed(2).padStart(16)}× ${String(r.audits).padStart(7)} ${String(r.agreedByVolunteers).padStart(7)} ${String(r.reexecutedByCoordinator).padStart(26)} ${`${(100 * r.extraCompute).toFixed(1)}% (${(100 * r.volunteerExtraCompute).toFixed(1)}% + ${(100 * r.coordinatorExtraCompute).toFixed(1)}%)`.padStart(42)} ${String(r.falseBans).padStart(11)}`,
  );
}
console.log(`\ndetection, ${VOLUNTEERS - 1} honest volunteers + 1 cheater, default policy (audit rate ${DEFAULT_TRUST.auditRate}), ${DETECT_ROUNDS} rounds`);
console.log('cheat          caught as  results accepted before ban  seconds to ban  rewinds  honest by design');
for (const d of detection) {
  console.log(
    `${d.cheat.padEnd(14)} ${(d.caughtAs ?? 'not caught').padStart(9)} ${String(d.resultsAcceptedBeforeBan).padStart(28)} ${(d.secondsFromFirstResultToBan?.toFixed(1) ?? '—').padStart(15)} ${String(d.rewinds).padStart(8)}  ${d.honestByDesign}`,
  );
}
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(0)} s`);
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(
  OUT,
  `${JSON.stringify({ date: new Date().toISOString(), machine: { cpus: cpus.length, model: cpus[0]?.model, node: process.version }, network: { preset: NETWORK.preset, shards: NETWORK.shards, batch: NETWORK.batch, microBatches: NETWORK.microBatches, seed: NETWORK.seed, rounds: ROUNDS, detectRounds: DETECT_ROUNDS, volunteers: VOLUNTEERS }, trust: DEFAULT_TRUST, unverifiedMsPerRound: peerMs, overhead, detection }, null, 2)}\n`,
);
console.log(`wrote ${OUT}`);
process.exit(0);
