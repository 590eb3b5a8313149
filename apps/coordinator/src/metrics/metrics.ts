import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AfterRoundStep, ClosedRound } from '../after-round/after-round.ts';
import type { Coordinator } from '../coordinator.ts';
import { CHAIN_UNAVAILABLE } from '../http/openai-routes.ts';
import type { ServingStats } from '../inference/serving-stats.ts';
import type { EpochEvents } from '../ownership/epoch-service.ts';
import type { TaskLease } from '../scheduler/leases.ts';
import type { ServerStats } from '../server.ts';
import type { TaskKey } from '../training/round-plan.ts';
import { countVolunteers } from './volunteer-states.ts';

/** Seconds from a task's lease to its accepted result: from a micro model on a fast CPU to a large shard on a slow GPU. */
export const TASK_SECONDS_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export type ChainErrorSource = 'epoch' | 'payment';

/** What the metrics read when scraped, rather than being told: the coordinator's state, the socket edge's bytes, serving. */
export interface MetricsSources {
  coordinator(): Pick<Coordinator, 'run' | 'volunteers'>;
  server(): ServerStats;
  serving(): ServingStats;
}

/**
 * The coordinator's Prometheus metrics, in a registry of their own (never prom-client's global
 * one: two coordinators in one process, as in tests, keep separate counts). Counters move on
 * events (a round closed, a task accepted, a refusal, an epoch published); gauges and the byte
 * and serving counters are read from their sources at scrape time. Node's own process metrics
 * keep prom-client's standard names (`process_*`, `nodejs_*`), which dashboards expect.
 */
export class CoordinatorMetrics {
  readonly registry = new Registry();
  private readonly roundsClosed: Counter;
  private readonly tokensTrained: Counter;
  private readonly tokensPerSecond: Gauge;
  private readonly trainingLoss: Gauge;
  private readonly taskSeconds: Histogram<'kind'>;
  private readonly socketRefusals: Counter<'code'>;
  private readonly httpRefusals: Counter<'code' | 'status'>;
  private readonly epochsPublished: Counter;
  private readonly chainErrors: Counter<'source'>;
  private lastClosedAt: number;

  constructor(sources: MetricsSources, startedAt: number) {
    const registers = [this.registry];
    this.lastClosedAt = startedAt;
    this.roundsClosed = new Counter({ name: 'openshard_rounds_closed_total', help: 'Training rounds closed since start-up (a round trained again after a rewind counts again)', registers });
    this.tokensTrained = new Counter({ name: 'openshard_tokens_trained_total', help: 'Tokens in the micro-batches of the rounds closed since start-up', registers });
    this.tokensPerSecond = new Gauge({ name: 'openshard_tokens_per_second', help: 'Tokens of the last closed round over the seconds since the round before it closed (or since start-up)', registers });
    this.trainingLoss = new Gauge({ name: 'openshard_training_loss', help: 'Mean training loss of the last closed round (nats per token; NaN before the first)', registers });
    this.taskSeconds = new Histogram({
      name: 'openshard_task_seconds',
      help: "Seconds from a task's lease to its accepted result, by task kind, on the coordinator's clock",
      labelNames: ['kind'],
      buckets: TASK_SECONDS_BUCKETS,
      registers,
    });
    this.socketRefusals = new Counter({ name: 'openshard_socket_refusals_total', help: "Volunteers' socket messages refused, by refusal code", labelNames: ['code'], registers });
    this.httpRefusals = new Counter({ name: 'openshard_http_refusals_total', help: 'HTTP requests refused, by error code and status', labelNames: ['code', 'status'], registers });
    this.epochsPublished = new Counter({ name: 'openshard_epochs_published_total', help: 'Epoch roots this process published on chain', registers });
    this.chainErrors = new Counter({
      name: 'openshard_chain_errors_total',
      help: 'Chain work that failed: epoch closing or publishing (tried again after a later checkpoint), payment checks (refused 503 chain_unavailable)',
      labelNames: ['source'],
      registers,
    });
    // present from the start, so a rate or an alert sees the first one
    for (const source of ['epoch', 'payment'] as const) this.chainErrors.inc({ source }, 0);
    this.trainingLoss.set(Number.NaN);
    readAtScrape(registers, sources);
    collectDefaultMetrics({ register: this.registry });
  }

  /** After persist: the round is durable before it is counted. */
  readonly step: AfterRoundStep = { name: 'metrics', run: (r) => this.roundClosed(r) };

  taskAccepted(lease: TaskLease<TaskKey>, computeMs: number): void {
    this.taskSeconds.observe({ kind: lease.task.kind }, computeMs / 1000);
  }

  socketRefused(code: string): void {
    this.socketRefusals.inc({ code });
  }

  httpRefused(code: string, status: number): void {
    this.httpRefusals.inc({ code, status: String(status) });
    if (code === CHAIN_UNAVAILABLE) this.chainErrors.inc({ source: 'payment' });
  }

  /** The epoch service's and publisher's events. */
  readonly epochs: EpochEvents = {
    published: () => this.epochsPublished.inc(),
    failed: () => this.chainErrors.inc({ source: 'epoch' }),
  };

  private roundClosed(r: ClosedRound): void {
    this.roundsClosed.inc();
    this.tokensTrained.inc(r.summary.tokens);
    this.trainingLoss.set(r.summary.loss);
    const seconds = (r.at - this.lastClosedAt) / 1000;
    if (seconds > 0) this.tokensPerSecond.set(r.summary.tokens / seconds);
    this.lastClosedAt = r.at;
  }
}

/** The metrics whose value is read from their source when Prometheus scrapes. */
function readAtScrape(registers: Registry[], sources: MetricsSources): void {
  new Gauge({
    name: 'openshard_round',
    help: 'The round being trained (rounds completed so far)',
    registers,
    collect() {
      this.set(sources.coordinator().run.round);
    },
  });
  new Gauge({
    name: 'openshard_volunteers',
    help: 'Connected volunteers by backend and state (training: ready on the current weights; loading: not yet; paused: paused or resting)',
    labelNames: ['backend', 'state'],
    registers,
    collect() {
      const { run, volunteers } = sources.coordinator();
      for (const c of countVolunteers(volunteers.values(), (shard) => run.shards[shard].version)) this.set({ backend: c.backend, state: c.state }, c.count);
    },
  });
  counterOf(registers, 'openshard_socket_bytes_received_total', 'Bytes of volunteer messages received on the socket edge', () => sources.server().bytesIn);
  counterOf(registers, 'openshard_socket_bytes_sent_total', "Bytes of messages sent to this process's volunteer sockets", () => sources.server().bytesOut);
  counterOf(registers, 'openshard_generations_total', 'Generations served through the inference API', () => sources.serving().requests);
  counterOf(registers, 'openshard_generations_failed_total', 'Generations that failed (their payment stays good)', () => sources.serving().failed);
  counterOf(registers, 'openshard_generated_tokens_total', 'Tokens generated for the inference API', () => sources.serving().tokens);
}

/** A counter whose source already counts: its value is copied at scrape time. */
function counterOf(registers: Registry[], name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers,
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}
