/**
 * npm run bench:network [-- --rounds 4] [--shapes 1x1,1x4,2x2,4x4,4x8] [--loss-rounds 20] [--seeds 3] [--clients 500] [--load-seconds 10] [--load-only] [--no-loss] [--out bench-results/network.json]
 *
 * 1. Training throughput, per traffic mode (exact, compact): tokens/s of the distributed run
 *    (coordinator in this process, Node volunteer processes on loopback) against the
 *    single-process trainer on the same machine and the same micro-batches; coordinator time per
 *    task; bytes on the wire per trained token, split into weights, gradients, activations, other.
 * 2. Loss at equal tokens: the default network shape (4 shards, 4 volunteers) trained for
 *    --loss-rounds rounds in each mode, --seeds seeds; validation loss of the final weights.
 * 3. Load: many concurrent socket clients doing tiny tasks: tasks/s, latency from lease to
 *    accepted result (p50, p99), coordinator memory.
 * Prints tables and writes JSON.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { encode, validationBatches } from '@openshard/data';
import type { Traffic } from '@openshard/protocol';
import { loadBrownCorpus } from '@openshard/data/node';
import { DEFAULT_OPTIMIZER, preset, type GptConfig } from '@openshard/model';
import { CpuBackend } from '@openshard/tensor';
import { Trainer } from '@openshard/trainer';
import { Coordinator } from '../src/coordinator.ts';
import { DEFAULT_COORDINATOR, startCoordinator } from '../src/start-coordinator.ts';
import { LeaseScheduler } from '../src/scheduler/leases.ts';
import { DEFAULT_FLOOD_LIMITS, startCoordinatorServer } from '../src/server.ts';
import { TrainingRun } from '../src/training/training-run.ts';
import { emptyTraffic, type TrafficBytes } from '../src/traffic-ledger.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string' },
    'loss-rounds': { type: 'string' },
    seeds: { type: 'string' },
    clients: { type: 'string' },
    'load-seconds': { type: 'string' },
    out: { type: 'string' },
    'load-only': { type: 'boolean' },
    'no-loss': { type: 'boolean' },
    shapes: { type: 'string' },
  },
});
const ROUNDS = Number(args.rounds ?? 4);
const LOSS_ROUNDS = Number(args['loss-rounds'] ?? 20);
/** Rounds a loss run trains in all: its measured rounds and the unmeasured first and last. */
const LOSS_TRAINED = LOSS_ROUNDS + 2;
const CLIENTS = Number(args.clients ?? 500);
const LOAD_SECONDS = Number(args['load-seconds'] ?? 10);
const OUT = args.out ?? 'bench-results/network.json';
const BATCH = 2;
const MICRO_BATCHES = 8;
const SEED = 3;
const SEEDS = Array.from({ length: Number(args.seeds ?? 3) }, (_, i) => SEED + i);
const MODES: Traffic[] = ['exact', 'compact'];
const config = preset('tiny');
const tokensPerRound = BATCH * config.contextLength * MICRO_BATCHES;

const children = new Set<ChildProcess>();
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));
function spawnTs(script: string, ...a: string[]): ChildProcess {
  const c = spawn(process.execPath, ['--import', 'tsx', script, ...a], { stdio: 'ignore' });
  children.add(c);
  c.on('exit', () => children.delete(c));
  return c;
}

// 1. the peer: the single-process trainer on the same micro-batches
const corpus = loadBrownCorpus();
let singleTokensPerSecond = NaN;
let t0 = performance.now();
if (!args['load-only']) {
  const trainer = new Trainer(new CpuBackend(), corpus.train, {
    config,
    shards: 1,
    batch: BATCH,
    microBatches: MICRO_BATCHES,
    seed: SEED,
    optimizer: { ...DEFAULT_OPTIMIZER, decaySteps: ROUNDS + 1 },
  });
  await trainer.trainStep();
  t0 = performance.now();
  for (let i = 0; i < ROUNDS; i++) await trainer.trainStep();
  singleTokensPerSecond = (ROUNDS * tokensPerRound) / ((performance.now() - t0) / 1000);
  trainer.dispose();
}

interface Row {
  traffic: Traffic;
  shards: number;
  volunteers: number;
  tokensPerSecond: number;
  ratio: number;
  coordinatorMsPerTask: number;
  bytesPerToken: number;
  /** Bytes per token by what they carry. */
  split: TrafficBytes;
  /** Coordinator handler time per round by what it handled (a message type, ticks, disconnects). */
  handlerMsPerRound: Record<string, number>;
}

interface Trained {
  seconds: number;
  tasks: number;
  handlerMs: number;
  bytes: number;
  traffic: TrafficBytes;
  handlerMsByKind: Record<string, number>;
  validationLoss: number;
}

/** What the server had counted at a moment: the measured window is the difference of two. */
interface Counted {
  at: number;
  handlerMs: number;
  bytes: number;
  traffic: TrafficBytes;
  tasks: number;
  byKind: Record<string, number>;
}

/**
 * A network of `volunteers` Node processes trained for `rounds` measured rounds between two
 * unmeasured ones: the first (process start-up, first weights) and the last (the end of the run
 * validates and checkpoints, which the single-process peer does not).
 */
async function trainNetwork(traffic: Traffic, shards: number, volunteers: number, rounds: number, seed: number, verify: boolean): Promise<Trained> {
  console.error(`${traffic}: ${shards} shards × ${volunteers} volunteers, seed ${seed}, ${rounds} rounds…`);
  const dataDir = mkdtempSync(join(os.tmpdir(), 'openshard-bench-'));
  let closed = 0;
  let tasks = 0;
  const marks: Counted[] = [];
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const network = await startCoordinator({
    ...DEFAULT_COORDINATOR,
    preset: 'tiny',
    shards,
    batch: BATCH,
    microBatches: MICRO_BATCHES,
    seed,
    rounds: rounds + 2,
    data: 'brown',
    host: '127.0.0.1',
    port: 0,
    dataDir,
    checkpointEvery: 1_000_000,
    evalEvery: 1_000_000,
    trust: verify ? DEFAULT_COORDINATOR.trust : null,
    traffic,
    onTaskAccepted: () => void tasks++,
    onRound: () => {
      closed++;
      if (closed === 1 || closed === rounds + 1) {
        const s = network.server.stats;
        marks.push({ at: performance.now(), handlerMs: s.handlerMs, bytes: s.bytesIn + s.bytesOut, traffic: { ...s.traffic }, tasks, byKind: { ...s.handlerMsByKind } });
      }
      if (closed === rounds + 2) finish();
    },
  });
  for (let i = 0; i < volunteers; i++) spawnTs('packages/volunteer/src/cli.ts', '--url', network.server.url, '--name', `bench-${i}`, '--no-serve');
  await finished;
  const [from, to] = marks;
  const split = emptyTraffic();
  for (const k of Object.keys(split) as (keyof TrafficBytes)[]) split[k] = to.traffic[k] - from.traffic[k];
  const validationLoss = await network.coordinator.run.validationLoss(validation);
  for (const c of children) c.kill('SIGTERM');
  await network.close();
  rmSync(dataDir, { recursive: true, force: true });
  const handlerMsByKind = Object.fromEntries(Object.entries(to.byKind).map(([k, ms]) => [k, ms - (from.byKind[k] ?? 0)]));
  return { seconds: (to.at - from.at) / 1000, tasks: to.tasks - from.tasks, handlerMs: to.handlerMs - from.handlerMs, bytes: to.bytes - from.bytes, traffic: split, handlerMsByKind, validationLoss };
}

const validation = validationBatches(corpus.validation, BATCH, config.contextLength, 8);
const rows: Row[] = [];
/** shards × volunteers */
const setups = args['load-only'] ? [] : (args.shapes ?? '1x1,1x4,2x2,4x4,4x8').split(',').map((x) => x.split('x').map(Number));
for (const traffic of MODES) {
  for (const [shards, volunteers] of setups) {
    // what the wire and the overlap cost; what verification costs (probation re-executes everything on the coordinator) is bench:trust's
    const t = await trainNetwork(traffic, shards, volunteers, ROUNDS, SEED, false);
    const tokens = ROUNDS * tokensPerRound;
    const split = emptyTraffic();
    for (const k of Object.keys(split) as (keyof TrafficBytes)[]) split[k] = t.traffic[k] / tokens;
    rows.push({
      traffic,
      shards,
      volunteers,
      tokensPerSecond: tokens / t.seconds,
      ratio: tokens / t.seconds / singleTokensPerSecond,
      coordinatorMsPerTask: t.handlerMs / t.tasks,
      bytesPerToken: t.bytes / tokens,
      split,
      handlerMsPerRound: Object.fromEntries(Object.entries(t.handlerMsByKind).map(([k, ms]) => [k, ms / ROUNDS])),
    });
  }
}

// 2. validation loss at equal tokens, the default shape, every seed in each mode (verification off: it does not change the losses, only the time)
const losses: { traffic: Traffic; seed: number; validationLoss: number; bytesPerToken: number }[] = [];
if (!args['load-only'] && !args['no-loss']) {
  for (const seed of SEEDS) {
    for (const traffic of MODES) {
      const t = await trainNetwork(traffic, 4, 4, LOSS_ROUNDS, seed, false);
      losses.push({ traffic, seed, validationLoss: t.validationLoss, bytesPerToken: t.bytes / (LOSS_ROUNDS * tokensPerRound) });
    }
  }
}

// 2. load: many clients, tiny tasks (a one-layer model of width 8, one micro-batch per client per round)
const LOAD_CONFIG: GptConfig = { vocabSize: 256, contextLength: 8, layers: 1, heads: 1, width: 8 };
const latencies: number[] = [];
let loadTasks = 0;
const run = new TrainingRun(new CpuBackend(), encode('tiny tasks for a crowd of volunteers. '.repeat(2000)), {
  config: LOAD_CONFIG,
  shards: 1,
  batch: 1,
  microBatches: CLIENTS,
  seed: 1,
  optimizer: DEFAULT_OPTIMIZER,
});
const coordinator = new Coordinator(run, new LeaseScheduler(), 'load', {
  taskAccepted: (lease, _computeMs, now) => {
    loadTasks++;
    latencies.push(now - lease.issuedAt);
  },
});
// every client comes from this machine's one address: the per-address connection limit is a deployment's, not the load test's
const server = await startCoordinatorServer(coordinator, { flood: { ...DEFAULT_FLOOD_LIMITS, connectionsPerAddress: CLIENTS + 16 } });
const memoryBefore = process.memoryUsage().rss;
const clientsProcess = spawnTs('apps/coordinator/bench/load-clients.ts', server.url, String(CLIENTS));
let connected = 0;
const connectStart = performance.now();
while (connected < CLIENTS && performance.now() - connectStart < 120_000) {
  await new Promise((r) => setTimeout(r, 200));
  connected = coordinator.volunteers.size;
}
latencies.length = 0;
loadTasks = 0;
const statsBefore = { ...server.stats };
t0 = performance.now();
let peakRss = 0;
while (performance.now() - t0 < LOAD_SECONDS * 1000) {
  await new Promise((r) => setTimeout(r, 250));
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}
const loadSeconds = (performance.now() - t0) / 1000;
const coordinatorBusy = (server.stats.handlerMs - statsBefore.handlerMs) / (loadSeconds * 1000);
const eventsPerSecond = (server.stats.handled - statsBefore.handled) / loadSeconds;
clientsProcess.kill('SIGTERM');
await server.close();
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
const load = {
  clients: CLIENTS,
  connected,
  tasksPerSecond: loadTasks / loadSeconds,
  p50Ms: pct(0.5),
  p99Ms: pct(0.99),
  coordinatorBusyFraction: coordinatorBusy,
  eventsPerSecond,
  coordinatorRssMiB: peakRss / 2 ** 20,
  coordinatorRssGrowthMiB: (peakRss - memoryBefore) / 2 ** 20,
};

const cpus = os.cpus();
console.log(`\n${cpus.length} CPU cores (${cpus[0]?.model}); coordinator, volunteers and the reference all share them.`);
console.log(`tiny preset, ${MICRO_BATCHES} micro-batches × ${BATCH} × ${config.contextLength} tokens = ${tokensPerRound} tokens per round; ${ROUNDS} rounds measured`);
console.log(`single-process trainer: ${singleTokensPerSecond.toFixed(0)} tokens/s; the network without verification (its cost: npm run bench:trust)\n`);
console.log('traffic  shards  volunteers  tokens/s  vs single  coordinator ms/task  bytes/token   weights  gradients  activations   other');
for (const r of rows) {
  const b = (n: number) => n.toFixed(0).padStart(9);
  console.log(
    `${r.traffic.padEnd(7)} ${String(r.shards).padStart(7)} ${String(r.volunteers).padStart(11)} ${r.tokensPerSecond.toFixed(0).padStart(9)} ${r.ratio.toFixed(2).padStart(9)}× ${r.coordinatorMsPerTask.toFixed(2).padStart(20)} ${r.bytesPerToken.toFixed(0).padStart(12)} ${b(r.split.weights)} ${b(r.split.gradients).padStart(10)} ${b(r.split.activations).padStart(12)} ${b(r.split.other).padStart(7)}`,
  );
}
for (const [shards, volunteers] of setups) {
  const [exact, compact] = MODES.map((m) => rows.find((r) => r.traffic === m && r.shards === shards && r.volunteers === volunteers)!);
  console.log(`${shards} shards × ${volunteers} volunteers: compact sends ${(exact.bytesPerToken / compact.bytesPerToken).toFixed(1)}× fewer bytes per token than exact`);
  for (const r of [exact, compact])
    console.log(
      `  ${r.traffic} coordinator ms per round by what it handled: ${Object.entries(r.handlerMsPerRound)
        .map(([k, ms]) => `${k} ${ms.toFixed(0)}`)
        .join(', ')}`,
    );
}
const lossSummary = MODES.map((traffic) => {
  const values = losses.filter((l) => l.traffic === traffic).map((l) => l.validationLoss);
  const mean = values.reduce((a, b) => a + b, 0) / Math.max(values.length, 1);
  return { traffic, mean, min: Math.min(...values), max: Math.max(...values), values };
});
if (losses.length) {
  console.log(`\nvalidation loss after ${LOSS_TRAINED} rounds (${LOSS_TRAINED * tokensPerRound} tokens), 4 shards × 4 volunteers, seeds ${SEEDS.join(', ')}:`);
  for (const l of lossSummary) console.log(`${l.traffic.padEnd(8)} mean ${l.mean.toFixed(4)}  min ${l.min.toFixed(4)}  max ${l.max.toFixed(4)}  [${l.values.map((v) => v.toFixed(4)).join(', ')}]`);
  const [exact, compact] = lossSummary;
  const perSeed = SEEDS.map((seed) => {
    const [e, c] = MODES.map((m) => losses.find((l) => l.seed === seed && l.traffic === m)!.validationLoss);
    return (c - e) / e;
  });
  console.log(`compact vs exact: mean ${(100 * ((compact.mean - exact.mean) / exact.mean)).toFixed(2)}%; per seed ${perSeed.map((d) => `${(100 * d).toFixed(2)}%`).join(', ')}`);
}
console.log(
  `\nload: ${load.connected}/${CLIENTS} clients connected; ${load.tasksPerSecond.toFixed(0)} tasks/s; latency p50 ${load.p50Ms.toFixed(1)} ms, p99 ${load.p99Ms.toFixed(1)} ms; coordinator RSS ${load.coordinatorRssMiB.toFixed(0)} MiB (+${load.coordinatorRssGrowthMiB.toFixed(0)} MiB), busy ${(100 * load.coordinatorBusyFraction).toFixed(0)}% of the time handling ${load.eventsPerSecond.toFixed(0)} events/s; the clients share the same 2 cores`,
);
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(
  OUT,
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      machine: { cpus: cpus.length, model: cpus[0]?.model, node: process.version },
      tokensPerRound,
      rounds: ROUNDS,
      singleProcessTokensPerSecond: singleTokensPerSecond,
      distributed: rows,
      loss: { rounds: LOSS_TRAINED, tokens: LOSS_TRAINED * tokensPerRound, shards: 4, volunteers: 4, runs: losses, summary: lossSummary },
      load,
    },
    null,
    2,
  )}\n`,
);
console.log(`wrote ${OUT}`);
process.exit(0);
