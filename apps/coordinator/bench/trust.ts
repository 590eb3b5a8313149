/**
 * npm run bench:trust [-- --rounds 100] [--passes 3] [--rates 0.01,0.05,0.2] [--detect-rounds 24] [--volunteers 4] [--overhead-only] [--out bench-results/trust.json]
 *
 * 1. What verification costs: the same network (micro preset, 2 shards, Node volunteer processes
 *    on loopback, all honest) without verification and with audit rates p = 1%, 5%, 20% (default
 *    trust policy otherwise), in interleaved passes: wall time per round against the unverified
 *    peer of the same pass, over the whole run and after probation (every volunteer trusted); how
 *    long probation took; the extra compute (re-executions by volunteers and by the coordinator)
 *    as a fraction of the training compute.
 * 2. How fast each cheat of the gallery is caught: one run per cheat with honest volunteers and
 *    one cheater (default trust policy) that joins second, so it holds the last shard, the one
 *    that reports the loss: whether it was caught as an author or as an auditor, its results
 *    accepted before its ban (applied to the model, if only until an audit), and the seconds from
 *    its join and from its first accepted result to the ban. A run stops soon after the ban.
 * A run that fails (an after-round step throws, or no round closes for a minute) is reported as
 * failed with its reason, and the bench goes on. Prints tables and writes JSON.
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
import { identityOf } from '../src/trust/verification.ts';
import { CHEATS, TURNCOAT_HONEST_TASKS, type Cheat } from '../test/support/cheats.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string' },
    passes: { type: 'string' },
    rates: { type: 'string' },
    'detect-rounds': { type: 'string' },
    volunteers: { type: 'string' },
    out: { type: 'string' },
    'overhead-only': { type: 'boolean' },
  },
});
const ROUNDS = Number(args.rounds ?? 100);
const PASSES = Number(args.passes ?? 3);
const RATES = (args.rates ?? '0.01,0.05,0.2').split(',').map(Number);
const DETECT_ROUNDS = Number(args['detect-rounds'] ?? 24);
const VOLUNTEERS = Number(args.volunteers ?? 4);
const OUT = args.out ?? 'bench-results/trust.json';
/** A run in which no round closes for this long is stuck: it is stopped and reported as failed. */
const STALL_LIMIT_MS = 60_000;
/** How long a volunteer process may take to start and join. */
const JOIN_LIMIT_MS = 30_000;
/** How long a detection run goes on after the ban: the rewind it causes is reported too. */
const AFTER_BAN_MS = 1_000;
/** Task ids of audits volunteers were credited for: `<task>/audit` or `<task>/audit/<audit id>` (trust/auditing.ts `credit`). */
const AUDIT_TASK_ID = /\/audit(\/|$)/;
/** Notices in an honest run that deserve a look. */
const INCIDENTS = new Set(['cheat', 'rewind', 'refused', 'leave']);
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
  /** The first round at whose close every volunteer was trusted; null if that never happened. */
  trustedAfterRound: number | null;
  /** Per volunteer name: when each of its training results was accepted (ms, Date.now: the clock of dashboard events). */
  accepted: Map<string, number[]>;
  events: DashboardEvent[];
  tasks: TaskRecord[];
  /** The coordinator's own re-executions (observed by wrapping `Verification.reexecute`): round, FLOPs, time it took. */
  reexecutions: { round: number; flops: number; ms: number }[];
  /** Time the coordinator spent keeping the state a rewind can go back to (`TrainingRun.keepSnapshot`, wrapped the same way), ms. */
  snapshotMs: number;
  counts: { audits: number; agreed: number; reexecuted: number; banned: number } | null;
  /** Why the run stopped before its last round, if it did not reach it. */
  failure: string | null;
}

/**
 * Trains `rounds` rounds (or until `stopAfter` sees its event) with honest volunteers and the
 * given cheats; kills every volunteer and removes the data after.
 */
async function train(trust: TrustPolicy | null, rounds: number, cheats: Cheat[], stopAfter?: (e: DashboardEvent) => boolean): Promise<Observed> {
  const dataDir = mkdtempSync(join(os.tmpdir(), 'openshard-bench-trust-'));
  const o: Observed = { closes: [], trustedAfterRound: null, accepted: new Map(), events: [], tasks: [], reexecutions: [], snapshotMs: 0, counts: null, failure: null };
  let stop!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  const fail = (why: string) => {
    o.failure ??= why;
    stop();
  };
  const network = await startCoordinator({
    ...NETWORK,
    rounds,
    dataDir,
    trust,
    onRound: (_, c) => {
      o.closes.push(performance.now());
      const all = [...c.volunteers.values()];
      const trusted = all.length >= VOLUNTEERS && all.every((v) => c.verification?.book.level(identityOf(v)) === 'trusted');
      if (o.trustedAfterRound === null && trusted) o.trustedAfterRound = o.closes.length - 1;
    },
    onTaskAccepted: (lease) => {
      const name = network.coordinator.volunteers.get(lease.volunteerId)?.name ?? '?';
      if (!o.accepted.has(name)) o.accepted.set(name, []);
      o.accepted.get(name)!.push(Date.now());
    },
    onFinished: () => stop(),
  });
  observeInternals(network, o, fail);
  const dashboard = io(`${network.server.url}${DASHBOARD_NAMESPACE}`, { transports: ['websocket'] });
  dashboard.on('event', (e: DashboardEvent) => {
    o.events.push(e);
    if (stopAfter?.(e)) setTimeout(stop, AFTER_BAN_MS);
  });
  const t0 = performance.now();
  const watchdog = setInterval(() => {
    if (performance.now() - (o.closes.at(-1) ?? t0) > STALL_LIMIT_MS) fail(`no round closed for ${STALL_LIMIT_MS / 1000} s${o.closes.length ? ` after round ${o.closes.length - 1}` : ''}`);
  }, 1_000);
  try {
    await new Promise((r) => dashboard.once('snapshot', r));
    const url = network.server.url;
    const honest = (i: number) => spawnTs('packages/volunteer/src/cli.ts', '--url', url, '--name', `honest-${i}`);
    const joined = (name: string) => o.events.some((e) => e.kind === 'join' && e.text.startsWith(`${name} joined`));
    // with a cheater, joins are ordered: honest-0 takes shard 0, the cheater the last shard (the one that reports the loss), then the rest
    let next = 0;
    for (const c of cheats) {
      if (next === 0) {
        honest(next++);
        if (!(await until(() => joined('honest-0'), JOIN_LIMIT_MS))) fail(`honest-0 did not join within ${JOIN_LIMIT_MS / 1000} s`);
      }
      spawnTs('apps/coordinator/test/support/hostile-volunteer.ts', '--url', url, '--name', `cheat-${c}`, '--cheat', c);
      if (!(await until(() => joined(`cheat-${c}`), JOIN_LIMIT_MS))) fail(`cheat-${c} did not join within ${JOIN_LIMIT_MS / 1000} s`);
    }
    while (next < VOLUNTEERS - cheats.length) honest(next++);
    await stopped;
    o.tasks = await network.stores.runs.tasks(network.runId);
    const v = network.coordinator.verification;
    o.counts = v ? { ...v.counts } : null;
    return o;
  } finally {
    clearInterval(watchdog);
    dashboard.close();
    for (const c of children) c.kill('SIGKILL');
    await network.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Polls `ok` every 50 ms for up to `limitMs`; whether it came true. */
async function until(ok: () => boolean, limitMs: number): Promise<boolean> {
  for (const end = performance.now() + limitMs; performance.now() < end; await new Promise((r) => setTimeout(r, 50))) if (ok()) return true;
  return false;
}

/** Wraps (on this instance only, nothing in src changes) what the coordinator does out of sight: its re-executions, its snapshots, a failed round commit. */
function observeInternals(network: Awaited<ReturnType<typeof startCoordinator>>, o: Observed, fail: (why: string) => void): void {
  const store = network.stores.runs;
  const closeRound = store.closeRound.bind(store);
  store.closeRound = async (runId, r, tasks) => {
    try {
      await closeRound(runId, r, tasks);
    } catch (e) {
      const ids = tasks.map((t) => t.taskId);
      const repeated = [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))];
      fail(`round ${r.round} could not be committed: ${(e as Error).message}${repeated.length ? ` (task ids logged twice: ${repeated.join(', ')})` : ''}`);
      throw e;
    }
  };
  const verification = network.coordinator.verification;
  if (!verification) return;
  const { config, batch } = network.coordinator.run.options;
  const reexecute = verification.reexecute.bind(verification);
  verification.reexecute = async (run, a) => {
    const t0 = performance.now();
    const result = await reexecute(run, a);
    o.reexecutions.push({ round: a.round, flops: shardFlops(config, run.specs[a.task.shard], a.task.kind, batch, config.contextLength), ms: performance.now() - t0 });
    return result;
  };
  const run = network.coordinator.run;
  const keepSnapshot = run.keepSnapshot.bind(run);
  run.keepSnapshot = async (keep) => {
    const t0 = performance.now();
    await keepSnapshot(keep);
    o.snapshotMs += performance.now() - t0;
  };
}

/** Mean wall time per round after round `from` (round 0 holds start-up, joins and first weights: never measured alone). */
function msPerRound(o: Observed, from: number): number {
  return (o.closes.at(-1)! - o.closes[from]) / (o.closes.length - 1 - from);
}

/** Extra compute over training compute, for rounds `first` on: audits by volunteers, re-executions by the coordinator. */
function extraCompute(o: Observed, first: number): { volunteers: number; coordinator: number } {
  const flops = (audit: boolean) => o.tasks.filter((t) => t.round >= first && AUDIT_TASK_ID.test(t.taskId) === audit).reduce((a, t) => a + t.flops, 0);
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

/** Leases that expired or were copied for a straggler, in rounds `first` on (the notice names the task: `r12/forward/s0/m1`). */
function reissuesFrom(o: Observed, first: number): number {
  return o.events.filter((e) => (e.kind === 'reissue' || e.kind === 'backup') && Number(e.text.match(/\br(\d+)\//)?.[1] ?? -1) >= first).length;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, x) => a + x, 0) / xs.length : Number.NaN);
const sumOf = (xs: number[]) => xs.reduce((a, x) => a + x, 0);
const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '—');
const fixed = (x: number, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : '—');
const ratios = (xs: number[]) => (xs.length === 0 ? '—' : xs.length === 1 ? `${xs[0].toFixed(2)}×` : `${mean(xs).toFixed(2)}× (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`);
const compute = (x: { volunteers: number; coordinator: number }) => `${pct(x.volunteers + x.coordinator)} (${pct(x.volunteers)} + ${pct(x.coordinator)})`;

function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}

// 1. overhead: passes interleave the settings, so a slow spell of the machine hits all of them
const started = performance.now();
const settings: (number | null)[] = [null, ...RATES];
const runs = new Map<number | null, Observed[]>(settings.map((p) => [p, []]));
for (let pass = 0; pass < PASSES; pass++) {
  for (const p of settings) runs.get(p)!.push(await train(p === null ? null : { ...DEFAULT_TRUST, auditRate: p }, ROUNDS, []));
}
const peers = runs.get(null)!;
const overhead = RATES.map((p) => {
  // a pass counts only where both the verified run and its unverified peer reached the last round
  const pairs = runs
    .get(p)!
    .map((o, i) => ({ o, peer: peers[i] }))
    .filter(({ o, peer }) => !o.failure && !peer.failure);
  const after = pairs.filter(({ o }) => o.trustedAfterRound !== null && o.trustedAfterRound < ROUNDS - 2);
  const whole = pairs.map(({ o }) => extraCompute(o, 0));
  const steady = after.map(({ o }) => extraCompute(o, o.trustedAfterRound! + 1));
  const counts = pairs.map(({ o }) => o.counts!);
  return {
    auditRate: p,
    passesMeasured: pairs.length,
    failures: runs
      .get(p)!
      .map((o) => o.failure)
      .filter((f) => f !== null),
    msPerRound: pairs.map(({ o }) => msPerRound(o, 0)),
    wallRatio: pairs.map(({ o, peer }) => msPerRound(o, 0) / msPerRound(peer, 0)),
    probationRounds: pairs.map(({ o }) => o.trustedAfterRound),
    probationSeconds: after.map(({ o }) => (o.closes[o.trustedAfterRound!] - o.closes[0]) / 1000),
    afterProbationWallRatio: after.map(({ o, peer }) => msPerRound(o, o.trustedAfterRound!) / msPerRound(peer, o.trustedAfterRound!)),
    audits: sumOf(counts.map((c) => c.audits)),
    agreedByVolunteers: sumOf(counts.map((c) => c.agreed)),
    reexecutedByCoordinator: sumOf(counts.map((c) => c.reexecuted)),
    coordinatorReexecutionMsPerRound: mean(pairs.map(({ o }) => sumOf(o.reexecutions.map((r) => r.ms)) / o.closes.length)),
    snapshotMsPerRound: mean(pairs.map(({ o }) => o.snapshotMs / o.closes.length)),
    extraCompute: { volunteers: mean(whole.map((x) => x.volunteers)), coordinator: mean(whole.map((x) => x.coordinator)) },
    afterProbationExtraCompute: { volunteers: mean(steady.map((x) => x.volunteers)), coordinator: mean(steady.map((x) => x.coordinator)) },
    reissuesAfterProbation: after.map(({ o }) => reissuesFrom(o, o.trustedAfterRound! + 1)),
    falseBans: sumOf(counts.map((c) => c.banned)),
    notices: runs.get(p)!.map(noticeCounts),
    incidents: runs.get(p)!.map((o) => o.events.filter((e) => INCIDENTS.has(e.kind)).map((e) => `${e.kind}: ${e.text}`)),
  };
});

// 2. detection latency
const detection = [];
for (const cheat of args['overhead-only'] ? [] : CHEATS) {
  const name = `cheat-${cheat}`;
  const o = await train(DEFAULT_TRUST, DETECT_ROUNDS, [cheat], (e) => e.kind === 'cheat' && e.text.startsWith(`${name} was caught`));
  const times = o.accepted.get(name) ?? [];
  const joined = o.events.find((e) => e.kind === 'join' && e.text.startsWith(`${name} joined`));
  const ban = o.events.find((e) => e.kind === 'cheat' && e.text.startsWith(`${name} was caught`));
  detection.push({
    cheat,
    shard: joined ? Number(joined.text.match(/holds shard (\d+)/)?.[1]) : null,
    caught: ban !== undefined,
    caughtAs: ban ? (ban.text.includes('its re-execution of') ? 'auditor' : 'author') : null,
    reason: ban?.text ?? null,
    roundsTrained: o.closes.length,
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
    failure: o.failure,
    notices: noticeCounts(o),
  });
}
const totalSeconds = (performance.now() - started) / 1000;

const cpus = os.cpus();
console.log(`\n${cpus.length} CPU cores (${cpus[0]?.model}); the coordinator and ${VOLUNTEERS} volunteer processes share them.`);
console.log(`micro preset, ${NETWORK.shards} shards, ${NETWORK.microBatches} micro-batches × ${NETWORK.batch}, seed ${NETWORK.seed}`);
console.log(
  `\nverification overhead: ${VOLUNTEERS} honest volunteers, ${ROUNDS} rounds, ${PASSES} pass${PASSES > 1 ? 'es (mean, range)' : ''}; default policy but the audit rate: probation ${DEFAULT_TRUST.probation} audits, spot checks ${DEFAULT_TRUST.spotCheckRate}, audit wait ${DEFAULT_TRUST.auditWaitMs} ms`,
);
console.log(`no verification: ${peers.map((o) => (o.failure ? `failed (${o.failure})` : `${fixed(msPerRound(o, 0))} ms/round`)).join(', ')}`);
printTable(
  [
    'audit rate',
    'ms/round',
    'vs none',
    'probation: rounds, s',
    'vs none after',
    'audits',
    'agreed',
    'coord. re-exec.',
    'its ms/round',
    'snapshot ms/round',
    'extra compute (vol. + coord.)',
    'after probation',
    'reissues after',
    'false bans',
  ],
  overhead.map((r) => [
    `${(100 * r.auditRate).toFixed(0)}%`,
    r.msPerRound.map((x) => fixed(x)).join(', ') || 'failed',
    ratios(r.wallRatio),
    r.probationRounds.map((x, i) => `${x ?? 'never'}, ${fixed(r.probationSeconds[i] ?? Number.NaN, 1)}`).join('; ') || '—',
    ratios(r.afterProbationWallRatio),
    String(r.audits),
    String(r.agreedByVolunteers),
    String(r.reexecutedByCoordinator),
    fixed(r.coordinatorReexecutionMsPerRound, 1),
    fixed(r.snapshotMsPerRound, 1),
    compute(r.extraCompute),
    compute(r.afterProbationExtraCompute),
    r.reissuesAfterProbation.join(', ') || '—',
    String(r.falseBans),
  ]),
);
console.log('probation: the round after which every volunteer was trusted, and the seconds until then; "after" = the rounds after it, against the same rounds of the peer');
console.log('extra compute: audit FLOPs over training FLOPs (volunteers: credited /audit tasks; coordinator: each re-execution at its task kind); counts are summed over passes');
console.log(`reissues after: expired leases and backup copies in the rounds after probation (the unverified peer: ${peers.map((o) => reissuesFrom(o, 0)).join(', ')} in the whole run)`);
for (const r of overhead) for (const f of r.failures) console.log(`audit rate ${r.auditRate}: a run failed: ${f}`);
for (const r of overhead) for (const i of r.incidents.flat()) console.log(`audit rate ${r.auditRate}, all volunteers honest: ${i}`);
if (detection.length) {
  console.log(
    `\ndetection: ${VOLUNTEERS - 1} honest volunteers and 1 cheater, which joins second and holds shard ${NETWORK.shards - 1}; default policy (audit rate ${DEFAULT_TRUST.auditRate}, probation ${DEFAULT_TRUST.probation}); up to ${DETECT_ROUNDS} rounds`,
  );
  printTable(
    ['cheat', 'shard', 'caught as', 'accepted before ban', 's join→ban', 's 1st result→ban', 'rewinds', 'rounds run', 'honest by design'],
    detection.map((d) => [
      d.cheat,
      String(d.shard ?? '?'),
      d.caughtAs ?? (d.failure ? 'run failed' : 'not caught'),
      d.caught ? String(d.resultsAcceptedBeforeBan) : `(${d.resultsAccepted} accepted)`,
      fixed(d.secondsFromJoinToBan ?? Number.NaN, 1),
      fixed(d.secondsFromFirstResultToBan ?? Number.NaN, 1),
      String(d.rewinds),
      String(d.roundsTrained),
      d.honestByDesign,
    ]),
  );
  for (const d of detection) if (d.failure) console.log(`${d.cheat}: the run failed: ${d.failure}`);
}
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
      unverified: peers.map((o) => ({ msPerRound: o.failure ? null : msPerRound(o, 0), failure: o.failure, notices: noticeCounts(o) })),
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
