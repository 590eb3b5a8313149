import type { Traffic } from '@openshard/protocol';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { validationBatches } from '@openshard/data';
import { loadCorpus } from '@openshard/data/node';
import { DASHBOARD_STATS_INTERVAL_MS } from '@openshard/protocol';
import { CpuBackend } from '@openshard/tensor';
import { runAfterRound, type AfterRoundStep } from './after-round/after-round.ts';
import { broadcastRound, checkpointAndEpoch, finishRun, persistRound, reportRound, Validation } from './after-round/steps.ts';
import { Coordinator, type CoordinatorEvents } from './coordinator.ts';
import { DashboardFeed } from './dashboard/dashboard-feed.ts';
import { loadReferenceCurve } from './dashboard/reference-curve.ts';
import { runInfo } from './dashboard/snapshot.ts';
import { Telemetry } from './dashboard/telemetry.ts';
import type { RouteModule } from './http/app.ts';
import { checkpointRoutes, committedCheckpoint } from './http/checkpoint-routes.ts';
import { readyRoutes } from './http/health-routes.ts';
import { ownershipRoutes } from './http/ownership-routes.ts';
import { revenueRoutes } from './http/revenue-routes.ts';
import { startServing, type Serving } from './inference/serving.ts';
import { CoordinatorMetrics } from './metrics/metrics.ts';
import { metricsRoutes } from './metrics/metrics-routes.ts';
import { chainCheck, modelCheck, storeCheck, type ReadinessCheck } from './metrics/readiness.ts';
import { DEFAULT_PAYMENTS, type PaymentPolicy } from './payments/payment-gate.ts';
import { distributorChain, type ChainConfig, type DistributorChain } from './ownership/distributor-chain.ts';
import { checkChainContinuity } from './ownership/chain-continuity.ts';
import { EpochPublisher } from './ownership/epoch-publisher.ts';
import { EpochService, type EpochPolicy } from './ownership/epoch-service.ts';
import { openRun, type NewRunOptions, type OpenedRun } from './run/open-run.ts';
import type { RunSpec } from './run/run-spec.ts';
import { LeaseScheduler, type TaskLease } from './scheduler/leases.ts';
import { startCoordinatorServer, type CoordinatorServer } from './server.ts';
import { signInVerifier, type SignIn } from './sign-in.ts';
import { openSqliteStores } from './store/sqlite/open-sqlite-stores.ts';
import type { Stores } from './store/stores.ts';
import { DEFAULT_EXPOSURE, type ExposurePolicy } from './scheduler/exposure.ts';
import type { TaskKey } from './training/round-plan.ts';
import { DEFAULT_STAND_IN, StandIn, type StandInPolicy } from './training/stand-in.ts';
import { DEFAULT_TRUST, type TrustPolicy } from './trust/trust-book.ts';
import { trustRecords, type TrustRecords } from './trust/records.ts';
import { Verification } from './trust/verification.ts';
import type { RoundSummary } from './training/training-run.ts';

export interface CoordinatorOptions extends NewRunOptions {
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
  /** Where volunteers sign in from (SIWE domain and URI origin): the web app's origin; null: this coordinator's own URL (it serves the app). */
  webOrigin: string | null;
  /** How long a sign-in session lasts (ms; default SESSION_TTL_MS, a day). */
  sessionTtlMs?: number;
  /** The chain sign-in messages must name. */
  chainId: number;
  /** The RevenueDistributor's chain; without one, work accrues shares but no epoch is published. */
  chain?: ChainConfig;
  epochs: EpochPolicy;
  /** Audits, trust, bans and vesting; null takes every well-formed result as it is (and vests at once). */
  trust: TrustPolicy | null;
  /** How many distinct shards one identity may be sent within a window. */
  exposure: ExposurePolicy;
  /** The price of inference and how payments are confirmed (free without a chain, or at price 0). */
  payments: PaymentPolicy;
  /** The coordinator computes shards no training volunteer holds, after a grace period (default DEFAULT_STAND_IN); null: such a shard waits. */
  standIn?: StandInPolicy | null;
  /**
   * What crosses the wire for training (docs/traffic.md): 'compact' (the default: q8 boundary
   * tensors, gradients summed per round, q8 weight updates) or 'exact' (fp32, the single-process
   * trainer's losses bit for bit). Not part of the run: a restart may change it.
   */
  traffic: Traffic;
  /** A checkpoint folder to serve instead of the latest the run commits. */
  serveCheckpoint?: string;
  /** Route modules mounted after the built-in ones (the built web app). */
  routes?: readonly RouteModule[];
  onRound?: (s: RoundSummary, c: Coordinator) => void;
  onFinished?: (c: Coordinator) => void;
  onTaskAccepted?: (lease: TaskLease<TaskKey>, now: number) => void;
}

export const DEFAULT_COORDINATOR: CoordinatorOptions = {
  preset: 'tiny',
  shards: 4,
  batch: 4,
  microBatches: 4,
  seed: 1337,
  rounds: 2000,
  data: 'brown',
  host: '127.0.0.1',
  port: 8600,
  dataDir: 'data',
  checkpointEvery: 10,
  evalEvery: 10,
  evalBatches: 4,
  webOrigin: 'http://127.0.0.1:5173',
  chainId: 31337,
  epochs: { everyRounds: 50, everyMs: 10 * 60_000 },
  trust: DEFAULT_TRUST,
  exposure: DEFAULT_EXPOSURE,
  payments: DEFAULT_PAYMENTS,
  standIn: DEFAULT_STAND_IN,
  traffic: 'compact',
};

export interface RunningCoordinator {
  server: CoordinatorServer;
  coordinator: Coordinator;
  runId: string;
  /** Round the run started or resumed at. */
  startRound: number;
  /** The run's options; when `resumed`, those it was started with. */
  spec: RunSpec;
  resumed: boolean;
  /** The run's record (`stores.runs`), epochs and sign-in nonces. */
  stores: Stores;
  /** The served model, its servers and payments. */
  serving: Serving;
  close(): Promise<void>;
}

/**
 * The coordinator process's start-up: opens the store and the run (resuming the latest), wires
 * sign-in, the chain, the after-round steps and the dashboard around the Coordinator, and serves
 * HTTP and Socket.IO. Volunteers reconnect by themselves.
 */
export async function startCoordinator(o: CoordinatorOptions): Promise<RunningCoordinator> {
  if (o.chain && o.chain.chainId !== o.chainId) throw new Error(`the chain file names chain ${o.chain.chainId}, but sign-in expects chain ${o.chainId}; pass --chain-id ${o.chain.chainId}`);
  mkdirSync(o.dataDir, { recursive: true });
  const stores = await openSqliteStores(join(o.dataDir, 'openshard.sqlite'));
  const store = stores.runs;
  const corpus = loadCorpus(o.data);
  const opened = await openRun(store, o.dataDir, corpus, new CpuBackend(), o);
  const { run, id: runId } = opened;
  const info = runInfo(opened, corpus.train);
  const reference = o.reference ? loadReferenceCurve(o.reference, opened.spec.options, opened.spec.corpus) : null;
  const feed = new DashboardFeed(new Telemetry(Date.now()));
  const siwe = signInVerifier({ ...o, webOrigin: o.webOrigin ?? (() => server.url) }, stores.nonces);
  const metrics = new CoordinatorMetrics({ coordinator: () => coordinator, server: () => server.stats, serving: () => serving.stats }, Date.now());
  const chain = o.chain ? distributorChain(o.chain) : null;
  if (chain) {
    await checkChainContinuity(chain, stores.epochs, runId, o.dataDir).catch(async (e) => {
      run.dispose();
      await stores.close();
      throw e;
    });
  }
  const epochs = chain ? new EpochPublisher(new EpochService(store, stores.epochs, runId, chain, o.epochs, Date.now(), metrics.epochs), (text) => feed.notice('epoch', text), metrics.epochs) : null;
  const serving = await startServing(stores, runId, chain, () => coordinator, {
    tolerance: o.trust?.tolerance ?? DEFAULT_TRUST.tolerance,
    modelId: `openshard-${opened.spec.preset}`,
    shards: run.options.shards,
    payments: o.payments,
    pinned: o.serveCheckpoint ?? null,
    checkpointEvery: o.checkpointEvery,
  });
  const validation = new Validation(run, validationBatches(corpus.validation, run.options.batch, run.options.config.contextLength, o.evalBatches), store, runId, feed);
  const steps: AfterRoundStep[] = [
    persistRound(store, runId, () => coordinator),
    metrics.step,
    broadcastRound(feed),
    validation.step(o.evalEvery),
    checkpointAndEpoch(o.checkpointEvery, opened.checkpoint, feed, epochs, o.trust?.holdingRounds ?? 0),
    serving.step,
    reportRound(o.onRound, () => coordinator),
    finishRun(feed, () => o.onFinished?.(coordinator)),
  ];
  const verification = o.trust
    ? new Verification(
        o.trust,
        (await store.bans()).map((b) => b.address),
        Math.random,
        opened.run.traffic,
      )
    : null;
  const records = trustRecords({ runs: store, epochs: stores.epochs, runId, opened, feed, validation });
  const coordinator = wireCoordinator(opened, steps, feed, metrics, siwe, o, verification, records);
  await feed.load(store, runId);
  await validation.atStart();
  const ownership = ownershipRoutes({ siwe, store, runId, ...(chain && o.chain ? { chain: { epochs: stores.epochs, distributor: chain, rpcUrl: o.chain.rpcUrl } } : {}) });
  const server = await startCoordinatorServer(coordinator, {
    host: o.host,
    port: o.port,
    routes: [
      ownership,
      serving.routes,
      revenueRoutes({ epochs: stores.epochs, payments: stores.payments, runId }),
      metricsRoutes(metrics.registry),
      readyRoutes(readinessChecks(stores, chain && o.chain ? { chain, rpcUrl: o.chain.rpcUrl } : null, serving)),
      checkpointRoutes(committedCheckpoint(store, runId)),
      ...(o.routes ?? []),
    ],
    httpRefused: (code, status) => metrics.httpRefused(code, status),
    serving: serving.hub,
  });
  epochs?.publishPending();
  feed.attach(server.io, info, reference);
  const statsTimer = setInterval(() => feed.stats(feed.telemetry.sample(coordinator, server.stats, Date.now(), serving.live())), DASHBOARD_STATS_INTERVAL_MS);
  return {
    server,
    coordinator,
    runId,
    startRound: opened.startRound,
    spec: opened.spec,
    resumed: opened.resumed,
    stores,
    serving,
    async close() {
      clearInterval(statsTimer);
      await server.close();
      await epochs?.idle();
      await serving.close();
      run.dispose();
      await stores.close();
    },
  };
}

/** What GET /ready checks: the store, the chain's RPC when there is a chain, the served model. */
function readinessChecks(stores: Stores, chain: { chain: DistributorChain; rpcUrl: string } | null, serving: Serving): ReadinessCheck[] {
  return [storeCheck(stores.runs), ...(chain ? [chainCheck(chain.chain, chain.rpcUrl)] : []), modelCheck(() => serving.models.current !== null)];
}

/** The Coordinator with its events: a closed round runs the after-round steps; accepted tasks, refusals and notices feed the dashboard and /metrics. */
function wireCoordinator(
  opened: OpenedRun,
  steps: readonly AfterRoundStep[],
  feed: DashboardFeed,
  metrics: CoordinatorMetrics,
  siwe: SignIn,
  o: CoordinatorOptions,
  verification: Verification | null,
  records: TrustRecords,
): Coordinator {
  const { run, spec } = opened;
  const events: CoordinatorEvents = {
    roundClosed: (summary, tasks) => runAfterRound(steps, { summary, tasks, completed: run.round, last: run.round >= spec.rounds, at: Date.now() }),
    taskAccepted: (lease, computeMs, now) => {
      feed.telemetry.taskAccepted(lease, computeMs, now);
      metrics.taskAccepted(lease, computeMs);
      o.onTaskAccepted?.(lease, now);
    },
    refused: (code) => metrics.socketRefused(code),
    notice: (kind, text) => feed.notice(kind, text),
    banned: (_who, address, reason) => (address ? records.banned(address, reason) : undefined),
    rewound: records.rewound,
  };
  return new Coordinator(
    run,
    new LeaseScheduler(),
    opened.id,
    events,
    spec.rounds,
    { addressOf: (token) => siwe.verifySession(token) },
    verification,
    o.exposure,
    o.standIn === null ? null : new StandIn(o.standIn),
  );
}
