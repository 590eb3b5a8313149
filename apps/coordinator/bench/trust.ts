/**
 * npm run bench:trust [-- --rounds 80] [--passes 2] [--detect-rounds 24] [--volunteers 4] [--out bench-results/trust.json]
 *
 * 1. What verification costs: the same network (micro preset, 2 shards, Node volunteer processes
 *    on loopback, all honest) without verification and with audit rates p = 1%, 5%, 20% (and 0%:
 *    probation and rewind snapshots alone), measured in interleaved passes: wall time per round
 *    against the unverified peer of the same pass, and the extra compute (re-executions by
 *    volunteers and by the coordinator) as a fraction of the training compute, over the whole run
 *    and over its second half (probation over).
 * 2. How fast each cheat of the gallery is caught: one run per cheat with honest volunteers and
 *    one cheater (default trust policy): whether it was caught as an author or as an auditor, its
 *    training results accepted before its ban, and the seconds from its join and from its first
 *    accepted result to the ban.
 * Prints tables and writes JSON.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { shardFlops } from '@openshard/model';
import { DASHBOARD_NAMESPACE, type DashboardEvent } from '@openshard/protocol';
import { io } from 'socket.io-client';
import { DEFAULT_COORDINATOR, startCoordinator, type CoordinatorOptions } from '../src/start-coordinator.ts';
import type { TaskRecord } from '../src/store/stores.ts';
import { DEFAULT_TRUST, type TrustPolicy } from '../src/trust/trust-book.ts';
import { CHEATS, TURNCOAT_HONEST_TASKS, type Cheat } from '../test/support/cheats.ts';

const { values: args } = parseArgs({
  options: { rounds: { type: 'string' }, passes: { type: 'string' }, 'detect-rounds': { type: 'string' }, volunteers: { type: 'string' }, out: { type: 'string' } },
});
const ROUNDS = Number(args.rounds ?? 80);
const PASSES = Number(args.passes ?? 2);
const DETECT_ROUNDS = Number(args['detect-rounds'] ?? 24);
const VOLUNTEERS = Number(args.volunteers ?? 4);
const OUT = args.out ?? 'bench-results/trust.json';
/** 0: verification on, no random audit of trusted volunteers: what probation and rewind snapshots cost alone. */
const RATES = [0, 0.01, 0.05, 0.2];
/** A run that has not finished by then is stuck (a volunteer died, a round never closes): the bench fails rather than hangs. */
const START_LIMIT_MS = 60_000;
const ROUND_LIMIT_MS = 3_000;
/** Task ids of audits volunteers were credited for end so (coordinator.ts `credit`). */
const AUDIT_SUFFIX = '/audit';
const NETWORK: CoordinatorOptions = {
  ...DEFAULT_COORDINATOR,
  preset: 'micro',
  shards: 2,
  batch: 2,
  microBatches: 2,
  seed: 17,
  port: 0,
  dataDir: '',
  checkpointEvery: 1000,
  evalEvery: 1000,
  evalBatches: 1,
};

const children = new Set<ChildProcess>();
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(130));
function spawnTs(script: string, ...a: string[]): void {
  const c = spawn(process.execPath, ['--import', 'tsx', script, ...a], { stdio: 'ignore' });
  children.add(c);
  c.on('exit', () => children.delete(c));
}

interface Observed {
  /** When each round closed (ms, performance clock); index = round. */
  closes: number[];
  /** Per volunteer name: when each of its training results was accepted (ms, Date.now, the clock of dashboard events). */
  accepted: Map<string, number[]>;
  events: DashboardEvent[];
  tasks: TaskRecord[];
  /** The coordinator's own re-executions (observed by wrapping `Verification.reexecute`): round, FLOPs, time it took. */
  reexecutions: { round: number; flops: number; ms: number }[];
  /** Time the coordinator spent keeping the state a rewind can go back to (`TrainingRun.keepSnapshot`, observed the same way), ms. */
  snapshotMs: number;
  counts: { audits: number; agreed: number; reexecuted: number; banned: number } | null;
}

/** Trains `rounds` rounds with honest volunteers and the given cheats; kills every volunteer and removes the data after. */
async function train(trust: TrustPolicy | null, rounds: number, cheats: Cheat[]): Promise<Observed> {
  const dataDir = mkdtempSync(join(os.tmpdir(), 'openshard-bench-trust-'));
  const closes: number[] = [];
  const accepted = new Map<string, number[]>();
  const reexecutions: Observed['reexecutions'] = [];
  let snapshotMs = 0;
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
      accepted.set(name, [...(accepted.get(name) ?? []), Date.now()]);
    },
    onFinished: () => finish(),
  });
  const verification = network.coordinator.verification;
  if (verification) {
    const { config, batch } = network.coordinator.run.options;
    const reexecute = verification.reexecute.bind(verification);
    verification.reexecute = async (run, a) => {
      const t0 = performance.now();
      const result = await reexecute(run, a);
      reexecutions.push({ round: a.round, flops: shardFlops(config, run.specs[a.task.shard], a.task.kind, batch, config.contextLength), ms: performance.now() - t0 });
      return result;
    };
    const run = network.coordinator.run;
    const keepSnapshot = run.keepSnapshot.bind(run);
    run.keepSnapshot = async (keep) => {
      const t0 = performance.now();
      await keepSnapshot(keep);
      snapshotMs += performance.now() - t0;
    };
  }
  const events: DashboardEvent[] = [];
  const dashboard = io(`${network.server.url}${DASHBOARD_NAMESPACE}`, { transports: ['websocket'] });
  dashboard.on('event', (e: DashboardEvent) => events.push(e));
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise((r) => dashboard.once('snapshot', r));
    // the cheaters join last, as a newcomer to a running network would
    for (let i = 0; i < VOLUNTEERS - cheats.length; i++) spawnTs('packages/volunteer/src/cli.ts', '--url', network.server.url, '--name', `honest-${i}`);
    for (const c of cheats) spawnTs('apps/coordinator/test/support/hostile-volunteer.ts', '--url', network.server.url, '--name', `cheat-${c}`, '--cheat', c);
    const limitMs = START_LIMIT_MS + rounds * ROUND_LIMIT_MS;
    const stuck = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `${trust ? `audit rate ${trust.auditRate}` : 'no verification'}${cheats.length ? `, ${cheats}` : ''}: ${closes.length} of ${rounds} rounds closed in ${limitMs / 1000} s; a volunteer may have died`,
            ),
          ),
        limitMs,
      );
    });
    await Promise.race([finished, stuck]);
    const tasks = await network.stores.runs.tasks(network.runId);
    return { closes, accepted, events, tasks, reexecutions, snapshotMs, counts: verification ? { ...verification.counts } : null };
  } finally {
    clearTimeout(timer);
    dashboard.close();
    for (const c of children) c.kill('SIGKILL');
    await network.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Mean wall time per round after round `from` (round 0 holds start-up, joins and first weights: never measured). */
function msPerRound(o: Observed, from: number): number {
  return (o.closes.at(-1)! - o.closes[from]) / (o.closes.length - 1 - from);
}

/** Extra compute over training compute, for rounds `first` on: audits by volunteers, re-executions by the coordinator. */
function extraCompute(o: Observed, first: number): { volunteers: number; coordinator: number } {
  const flops = (audit: boolean) => o.tasks.filter((t) => t.round >= first && t.taskId.endsWith(AUDIT_SUFFIX) === audit).reduce((a, t) => a + t.flops, 0);
  const training = flops(false);
  const coordinator = o.reexecutions.filter((r) => r.round >= first).reduce((a, r) => a + r.flops, 0);
  return { volunteers: flops(true) / training, coordinator: coordinator / training };
}

/** How many notices of each kind the dashboard was sent (reissues, backups or refusals in an honest run are worth a look). */
function noticeCounts(o: Observed): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of o.events) counts[e.kind] = (counts[e.kind] ?? 0) + 1;
  return counts;
}

const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
const sumOf = (xs: number[]) => xs.reduce((a, x) => a + x, 0);
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const ratioRange = (xs: number[]) => `${mean(xs).toFixed(2)}× (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`;

function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}

// 1. overhead: passes interleave the settings, so a slow spell of the machine hits all of them
const started = performance.now();
const HALF = Math.floor(ROUNDS / 2);
const settings: (number | null)[] = [null, ...RATES];
const runs = new Map<number | null, Observed[]>(settings.map((p) => [p, []]));
for (let pass = 0; pass < PASSES; pass++) {
  for (const p of settings) runs.get(p)!.push(await train(p === null ? null : { ...DEFAULT_TRUST, auditRate: p }, ROUNDS, []));
}
const peers = runs.get(null)!;
const overhead = RATES.map((p) => {
  const measured = runs.get(p)!;
  const whole = measured.map((o) => extraCompute(o, 0));
  const steady = measured.map((o) => extraCompute(o, HALF + 1));
  const counts = measured.map((o) => o.counts!);
  return {
    auditRate: p,
    msPerRound: measured.map((o) => msPerRound(o, 0)),
    wallRatio: measured.map((o, i) => msPerRound(o, 0) / msPerRound(peers[i], 0)),
    secondHalfWallRatio: measured.map((o, i) => msPerRound(o, HALF) / msPerRound(peers[i], HALF)),
    audits: sumOf(counts.map((c) => c.audits)),
    agreedByVolunteers: sumOf(counts.map((c) => c.agreed)),
    reexecutedByCoordinator: sumOf(counts.map((c) => c.reexecuted)),
    coordinatorReexecutionMsPerRound: mean(measured.map((o) => sumOf(o.reexecutions.map((r) => r.ms)) / o.closes.length)),
    snapshotMsPerRound: mean(measured.map((o) => o.snapshotMs / o.closes.length)),
    extraCompute: { volunteers: mean(whole.map((x) => x.volunteers)), coordinator: mean(whole.map((x) => x.coordinator)) },
    secondHalfExtraCompute: { volunteers: mean(steady.map((x) => x.volunteers)), coordinator: mean(steady.map((x) => x.coordinator)) },
    falseBans: sumOf(counts.map((c) => c.banned)),
    notices: measured.map(noticeCounts),
  };
});

// 2. detection latency
const detection = [];
for (const cheat of CHEATS) {
  const o = await train(DEFAULT_TRUST, DETECT_ROUNDS, [cheat]);
  const name = `cheat-${cheat}`;
  const times = o.accepted.get(name) ?? [];
  const joined = o.events.find((e) => e.kind === 'join' && e.text.startsWith(`${name} joined`));
  const ban = o.events.find((e) => e.kind === 'cheat' && e.text.startsWith(`${name} was caught`));
  const shard = joined ? Number(joined.text.match(/holds shard (\d+)/)?.[1]) : null;
  detection.push({
    cheat,
    shard,
    caught: ban !== undefined,
    caughtAs: ban ? (ban.text.includes('its re-execution of') ? 'auditor' : 'author') : null,
    reason: ban?.text ?? null,
    resultsAccepted: times.length,
    resultsAcceptedBeforeBan: ban ? times.filter((t) => t <= ban.at).length : null,
    secondsFromJoinToBan: ban && joined ? (ban.at - joined.at) / 1000 : null,
    secondsFromFirstResultToBan: ban && times.length ? (ban.at - times[0]) / 1000 : null,
    honestByDesign:
      cheat === 'turncoat'
        ? `its first ${TURNCOAT_HONEST_TASKS} tasks`
        : cheat === 'copy'
          ? 'its first result of each task kind'
          : cheat === 'lying-loss'
            ? `every result off shard ${NETWORK.shards - 1} (no loss to lie about)`
            : 'nothing',
    rewinds: o.events.filter((e) => e.kind === 'rewind').length,
    notices: noticeCounts(o),
  });
}
const totalSeconds = (performance.now() - started) / 1000;

const cpus = os.cpus();
console.log(`\n${cpus.length} CPU cores (${cpus[0]?.model}); the coordinator and ${VOLUNTEERS} volunteer processes share them.`);
console.log(`micro preset, ${NETWORK.shards} shards, ${NETWORK.microBatches} micro-batches × ${NETWORK.batch}, seed ${NETWORK.seed}`);
console.log(
  `\nverification overhead: ${VOLUNTEERS} honest volunteers, ${ROUNDS} rounds, ${PASSES} interleaved passes (mean, range over passes); probation ${DEFAULT_TRUST.probation} audits per new volunteer, spot checks ${DEFAULT_TRUST.spotCheckRate}, audit wait ${DEFAULT_TRUST.auditWaitMs} ms`,
);
console.log(`no verification: ${peers.map((o) => msPerRound(o, 0).toFixed(0)).join(', ')} ms/round; 2nd half = rounds ${HALF + 1}–${ROUNDS - 1}, after probation`);
printTable(
  [
    'audit rate',
    'ms/round',
    'wall vs none',
    '2nd half vs none',
    'audits',
    'agreed',
    'coord. re-exec.',
    'coord. re-exec. ms/round',
    'snapshots ms/round',
    'extra compute (vol. + coord.)',
    '2nd half extra',
    'false bans',
  ],
  overhead.map((r) => [
    `${(100 * r.auditRate).toFixed(0)}%`,
    r.msPerRound.map((x) => x.toFixed(0)).join(', '),
    ratioRange(r.wallRatio),
    ratioRange(r.secondHalfWallRatio),
    String(r.audits),
    String(r.agreedByVolunteers),
    String(r.reexecutedByCoordinator),
    r.coordinatorReexecutionMsPerRound.toFixed(1),
    r.snapshotMsPerRound.toFixed(1),
    `${pct(r.extraCompute.volunteers + r.extraCompute.coordinator)} (${pct(r.extraCompute.volunteers)} + ${pct(r.extraCompute.coordinator)})`,
    `${pct(r.secondHalfExtraCompute.volunteers + r.secondHalfExtraCompute.coordinator)} (${pct(r.secondHalfExtraCompute.volunteers)} + ${pct(r.secondHalfExtraCompute.coordinator)})`,
    String(r.falseBans),
  ]),
);
console.log('counts are summed over the passes; extra compute is audit FLOPs (volunteers: credited /audit tasks; coordinator: each re-execution at its task kind) over training FLOPs');
console.log(
  `\ndetection: ${VOLUNTEERS - 1} honest volunteers, then 1 cheater joins; default policy (audit rate ${DEFAULT_TRUST.auditRate}, probation ${DEFAULT_TRUST.probation}), ${DETECT_ROUNDS} rounds`,
);
printTable(
  ['cheat', 'shard', 'caught as', 'accepted before ban', 's join→ban', 's 1st result→ban', 'rewinds', 'honest by design'],
  detection.map((d) => [
    d.cheat,
    String(d.shard ?? '?'),
    d.caughtAs ?? 'not caught',
    d.caught ? String(d.resultsAcceptedBeforeBan) : `(${d.resultsAccepted} accepted)`,
    d.secondsFromJoinToBan?.toFixed(1) ?? '—',
    d.secondsFromFirstResultToBan?.toFixed(1) ?? '—',
    String(d.rewinds),
    d.honestByDesign,
  ]),
);
console.log(`\ntotal ${totalSeconds.toFixed(0)} s`);
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(
  OUT,
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      machine: { cpus: cpus.length, model: cpus[0]?.model, node: process.version },
      network: { preset: NETWORK.preset, shards: NETWORK.shards, batch: NETWORK.batch, microBatches: NETWORK.microBatches, seed: NETWORK.seed, volunteers: VOLUNTEERS },
      rounds: ROUNDS,
      passes: PASSES,
      detectRounds: DETECT_ROUNDS,
      trust: DEFAULT_TRUST,
      unverifiedMsPerRound: peers.map((o) => msPerRound(o, 0)),
      unverifiedNotices: peers.map(noticeCounts),
      overhead,
      detection,
      totalSeconds,
    },
    null,
    2,
  )}\n`,
);
console.log(`wrote ${OUT}`);
process.exit(0);
