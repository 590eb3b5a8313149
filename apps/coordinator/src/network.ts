import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { unigramEntropy, validationBatches } from '@openshard/data';
import { loadCorpus } from '@openshard/data/node';
import { crc32, DEFAULT_OPTIMIZER, parameterCount, parameterSpecs, preset, type OptimizerConfig } from '@openshard/model';
import { SiweVerifier } from '@openshard/ownership';
import { DASHBOARD_STATS_INTERVAL_MS, type DashboardSnapshot, type ReferencePoint, type RunInfo } from '@openshard/protocol';
import { CpuBackend } from '@openshard/tensor';
import { loadCheckpoint, saveCheckpoint, TRAINER_FORMAT, type CorpusFingerprint, type TrainerFile } from '@openshard/trainer';
import { Coordinator } from './coordinator.ts';
import { attachDashboard } from './dashboard/dashboard-namespace.ts';
import { loadReferenceCurve } from './dashboard/reference-curve.ts';
import { Telemetry } from './dashboard/telemetry.ts';
import { ownershipRoutes } from './http/ownership-routes.ts';
import { distributorChain, type ChainConfig } from './ownership/distributor-chain.ts';
import { EpochService, type EpochPolicy } from './ownership/epoch-service.ts';
import { EpochStore } from './ownership/epoch-store.ts';
import { LeaseScheduler, type TaskLease } from './scheduler/leases.ts';
import { startCoordinatorServer, type CoordinatorServer } from './server.ts';
import { RunStore } from './store/run-store.ts';
import { TrainingRun, type RoundSummary, type RunOptions } from './training/training-run.ts';

export interface NetworkOptions {
  preset: string;
  shards: number;
  batch: number;
  microBatches: number;
  seed: number;
  /** Rounds the run lasts (the learning rate decays over them); no tasks are issued after the last. */
  rounds: number;
  data: string;
  host: string;
  port: number;
  /** SQLite file and checkpoints live here. */
  dataDir: string;
  /** A checkpoint is written every this many rounds (and after the last). */
  checkpointEvery: number;
  /** Validation loss is measured every this many rounds (and before the first, and after the last). */
  evalEvery: number;
  /** Micro-batches of the validation text each measurement uses. */
  evalBatches: number;
  /** A folder of `npm run train` with the same options: its curve is overlaid on the dashboard. */
  reference?: string;
  /** Where volunteers sign in from (SIWE domain and URI origin): the web app's origin. */
  webOrigin: string;
  /** The chain sign-in messages must name. */
  chainId: number;
  /** The RevenueDistributor's chain; without one, work accrues shares but no epoch is published. */
  chain?: ChainConfig;
  epochs: EpochPolicy;
  onRound?: (s: RoundSummary, c: Coordinator) => void;
  onFinished?: (c: Coordinator) => void;
  onTaskAccepted?: (lease: TaskLease, now: number) => void;
}

export const DEFAULT_NETWORK: NetworkOptions = {
  preset: 'tiny', shards: 4, batch: 4, microBatches: 4, seed: 1337, rounds: 2000, data: 'brown', host: '127.0.0.1', port: 8600,
  dataDir: 'data', checkpointEvery: 10, evalEvery: 10, evalBatches: 4, webOrigin: 'http://127.0.0.1:5173', chainId: 31337,
  epochs: { everyRounds: 50, everyMs: 10 * 60_000 },
};

/** Sign-in messages older than this are refused (ms). */
const SIWE_MAX_AGE_MS = 10 * 60_000;
const SIWE_NONCE_TTL_MS = 10 * 60_000;
/** A signed-in volunteer stays signed in this long (ms). */
const SESSION_TTL_MS = 24 * 60 * 60_000;

/** The key of session tokens, kept in the data folder so sessions outlive a restart. */
function sessionSecret(dataDir: string): Buffer {
  const path = join(dataDir, 'session-secret');
  if (!existsSync(path)) writeFileSync(path, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
  return Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
}

/** The trainer CLI's schedule for this many steps, so `npm run train` with the same numbers is a network run's reference. */
export function runOptimizer(rounds: number): OptimizerConfig {
  return { ...DEFAULT_OPTIMIZER, warmupSteps: Math.min(DEFAULT_OPTIMIZER.warmupSteps, Math.floor(rounds / 10)), decaySteps: rounds };
}

/** What a run is, stored with it so a restarted coordinator resumes the same run. */
interface RunSpec {
  preset: string;
  rounds: number;
  options: Omit<RunOptions, 'config'>;
  corpus: CorpusFingerprint;
}

export interface Network {
  server: CoordinatorServer;
  coordinator: Coordinator;
  runId: string;
  /** Round the run started or resumed at. */
  startRound: number;
  store: RunStore;
  close(): Promise<void>;
}

/**
 * A coordinator on embedded defaults: the latest run in `dataDir`'s SQLite file is resumed from
 * its last checkpoint (rounds after it are forgotten and trained again); otherwise a new run of
 * the preset starts. Volunteers reconnect by themselves.
 */
export async function startNetwork(o: NetworkOptions): Promise<Network> {
  mkdirSync(o.dataDir, { recursive: true });
  const store = new RunStore(join(o.dataDir, 'openshard.sqlite'));
  const corpus = loadCorpus(o.data);
  const fingerprint: CorpusFingerprint = { source: corpus.source, trainBytes: corpus.train.length, trainCrc32: crc32(corpus.train).toString(16) };
  const be = new CpuBackend();
  const latest = store.latestRun();
  let runId: string;
  let spec: RunSpec;
  let run: TrainingRun;
  if (latest) {
    runId = latest.id;
    spec = JSON.parse(latest.spec) as RunSpec;
    if (spec.corpus.trainCrc32 !== fingerprint.trainCrc32) {
      throw new Error(`run ${runId} in ${o.dataDir} was trained on ${spec.corpus.source} (${spec.corpus.trainBytes} bytes), not on ${o.data}; use another --data-dir`);
    }
    const config = preset(spec.preset);
    const options: RunOptions = { ...spec.options, config };
    if (latest.checkpoint) {
      // refuses a checkpoint of any other model, naming both
      const ckpt = loadCheckpoint(latest.checkpoint, config);
      run = new TrainingRun(be, corpus.train, options, {
        round: ckpt.trainer.state.step, sampler: ckpt.trainer.state.sampler,
        values: (name) => ckpt.values.get(name)!, moments: (name) => ckpt.optimizer.moments.get(name)!,
      });
    } else {
      run = new TrainingRun(be, corpus.train, options);
    }
    store.rollbackTo(runId, run.round);
  } else {
    runId = randomUUID();
    const config = preset(o.preset);
    const options: RunOptions = {
      config, shards: o.shards, batch: o.batch, microBatches: o.microBatches, seed: o.seed,
      optimizer: runOptimizer(o.rounds),
    };
    const { config: _, ...saved } = options;
    spec = { preset: o.preset, rounds: o.rounds, options: saved, corpus: fingerprint };
    store.createRun(runId, JSON.stringify(spec), Date.now());
    run = new TrainingRun(be, corpus.train, options);
  }
  const startRound = run.round;
  const runDir = join(o.dataDir, 'runs', runId);
  const checkpoint = async () => {
    const trainer: TrainerFile = { format: TRAINER_FORMAT, backend: 'cpu', state: { step: run.round, sampler: run.samplerAtRoundStart }, options: spec.options, corpus: spec.corpus };
    const path = saveCheckpoint(runDir, { config: run.options.config, values: await run.parameterValues(), optimizer: await run.optimizerState(), trainer });
    store.commitCheckpoint(runId, run.round, path);
  };
  const { config } = run.options;
  const info: RunInfo = {
    id: runId, preset: spec.preset, config, shards: run.options.shards, batch: run.options.batch, microBatches: run.options.microBatches,
    rounds: spec.rounds, tokensPerRound: run.options.batch * run.options.microBatches * config.contextLength,
    parameters: parameterCount(parameterSpecs(config)), unigramEntropy: unigramEntropy(corpus.train),
  };
  const reference: ReferencePoint[] | null = o.reference ? loadReferenceCurve(o.reference, spec.options, spec.corpus) : null;
  const validation = validationBatches(corpus.validation, run.options.batch, config.contextLength, o.evalBatches);
  const telemetry = new Telemetry(Date.now());
  // set once the server exists; notices before that (none) would have nowhere to go
  let broadcast: ReturnType<typeof attachDashboard> | null = null;
  const notice = (kind: Parameters<Telemetry['notice']>[0], text: string) => broadcast?.event(telemetry.notice(kind, text, Date.now()));
  /** Validation loss of the weights as they are now (rounds completed: run.round), stored and broadcast. */
  const measureValidation = async () => {
    const loss = await run.validationLoss(validation);
    const at = Date.now();
    store.recordMetric(runId, run.round, 'validationLoss', loss, at);
    broadcast?.validation({ round: run.round, loss, at });
  };
  const web = new URL(o.webOrigin);
  const siwe = new SiweVerifier({
    domain: web.host, origin: web.origin, chainId: o.chainId, maxAgeMs: SIWE_MAX_AGE_MS, nonceTtlMs: SIWE_NONCE_TTL_MS,
    sessionTtlMs: SESSION_TTL_MS, secret: sessionSecret(o.dataDir), now: Date.now,
  });
  if (o.chain && o.chain.chainId !== o.chainId) throw new Error(`the chain file names chain ${o.chain.chainId}, but sign-in expects chain ${o.chainId}; pass --chain-id ${o.chain.chainId}`);
  const chain = o.chain ? distributorChain(o.chain) : null;
  const epochStore = new EpochStore(store.db);
  const epochService = chain ? new EpochService(store, epochStore, runId, chain, o.epochs, Date.now()) : null;
  // epochs go to the chain off the training path: a slow RPC never holds up a round
  let epochWork: Promise<unknown> = Promise.resolve();
  const afterCheckpoint = (finalRound: number) => {
    if (!epochService) return;
    epochWork = epochWork
      .then(() => epochService.afterCheckpoint(finalRound, Date.now()))
      .then((e) => e && notice('epoch', `epoch ${e.epoch} closed through round ${e.throughRound}: ${e.state.holders.size} holders, ${e.totalCumulative} wei entitled in all, root ${e.root.slice(0, 10)}… published`))
      .catch((e: Error) => notice('epoch', `epoch not published: ${e.message.split('\n')[0]}`));
  };
  const coordinator: Coordinator = new Coordinator(run, new LeaseScheduler(), runId, {
    roundClosed: async (s, tasks) => {
      const now = Date.now();
      store.closeRound(runId, { round: s.round, loss: s.loss, tokens: s.tokens, closedAt: now }, tasks);
      store.recordMetric(runId, s.round, 'volunteers', coordinator.volunteers.size, now);
      store.recordMetric(runId, s.round, 'maxExposure', coordinator.maxExposure(), now);
      broadcast?.round({ round: s.round + 1, loss: s.loss, tokens: s.tokens, closedAt: now });
      // run.round is now s.round + 1: the checkpoint and the validation are of the weights the next round starts from
      if (run.round % o.evalEvery === 0 || run.round >= spec.rounds) await measureValidation();
      if (run.round % o.checkpointEvery === 0 || run.round >= spec.rounds) {
        await checkpoint();
        notice('checkpoint', `checkpoint of round ${run.round} written`);
        afterCheckpoint(run.round);
      }
      o.onRound?.(s, coordinator);
      if (run.round >= spec.rounds) {
        notice('finished', `the run is complete: ${run.round} rounds`);
        o.onFinished?.(coordinator);
      }
    },
    taskAccepted: (lease, computeMs, now) => {
      telemetry.taskAccepted(lease, computeMs, now);
      o.onTaskAccepted?.(lease, now);
    },
    notice,
  }, spec.rounds, { addressOf: (token) => siwe.verifySession(token) });
  if (run.round === 0 && store.metrics(runId, 'validationLoss').length === 0) await measureValidation();
  const server = await startCoordinatorServer(coordinator, { host: o.host, port: o.port, routes: ownershipRoutes({
    siwe, store, runId, ...(chain && o.chain ? { chain: { epochs: epochStore, distributor: chain, rpcUrl: o.chain.rpcUrl } } : {}),
  }) });
  // epochs stored before a crash and not yet on chain
  if (epochService) epochWork = epochService.publishPending().catch((e: Error) => notice('epoch', `pending epochs not published: ${e.message.split('\n')[0]}`));
  const snapshot = (): DashboardSnapshot => ({
    run: info,
    rounds: store.rounds(runId).map((r) => ({ ...r, round: r.round + 1 })),
    validation: store.metrics(runId, 'validationLoss').map((m) => ({ round: m.round, loss: m.value, at: m.at })),
    reference,
    events: [...telemetry.events],
    stats: telemetry.samples,
  });
  broadcast = attachDashboard(server.io, snapshot);
  const statsTimer = setInterval(() => broadcast?.stats(telemetry.sample(coordinator, server.stats, Date.now())), DASHBOARD_STATS_INTERVAL_MS);
  return {
    server, coordinator, runId, startRound, store,
    async close() {
      clearInterval(statsTimer);
      await server.close();
      await epochWork;
      run.dispose();
      store.close();
    },
  };
}
