import type { MicroBatch } from '@openshard/data';
import type { Coordinator } from '../coordinator.ts';
import type { DashboardFeed } from '../dashboard/dashboard-feed.ts';
import type { EpochPublisher } from '../ownership/epoch-publisher.ts';
import type { RunStore } from '../store/stores.ts';
import type { RoundSummary, TrainingRun } from '../training/training-run.ts';
import { due, type AfterRoundStep } from './after-round.ts';

/** The round, its tasks and receipts in one transaction; then the metrics a researcher plots beside the loss. */
export function persistRound(store: RunStore, runId: string, coordinator: () => Coordinator): AfterRoundStep {
  return {
    name: 'persist',
    async run({ summary, tasks, at }) {
      await store.closeRound(runId, { round: summary.round, loss: summary.loss, tokens: summary.tokens, closedAt: at }, tasks);
      const c = coordinator();
      await store.recordMetric(runId, summary.round, 'volunteers', c.volunteers.size, at);
      await store.recordMetric(runId, summary.round, 'maxExposure', c.maxExposure(), at);
    },
  };
}

export function broadcastRound(feed: DashboardFeed): AfterRoundStep {
  return { name: 'broadcast', run: ({ summary, at }) => feed.round({ round: summary.round, loss: summary.loss, tokens: summary.tokens, closedAt: at }) };
}

/** Measures the validation loss of the weights as they are now (after `run.round` rounds), stores and broadcasts it. */
export class Validation {
  constructor(
    private readonly run: TrainingRun,
    private readonly batches: readonly MicroBatch[],
    private readonly store: RunStore,
    private readonly runId: string,
    private readonly feed: DashboardFeed,
  ) {}

  async measure(): Promise<void> {
    const loss = await this.run.validationLoss(this.batches);
    const at = Date.now();
    await this.store.recordMetric(this.runId, this.run.round, 'validationLoss', loss, at);
    this.feed.validation({ round: this.run.round, loss, at });
  }

  /**
   * Of the weights a run starts or resumes from, unless the store has it: a resume rolls back
   * every metric at or after the checkpoint's round, the validation of the checkpoint itself too.
   */
  async atStart(): Promise<void> {
    const points = await this.store.metrics(this.runId, 'validationLoss');
    if (!points.some((p) => p.round === this.run.round)) await this.measure();
  }

  step(every: number): AfterRoundStep {
    return { name: 'validate', run: async (r) => (due(every, r) ? this.measure() : undefined) };
  }
}

/**
 * Every `every` rounds and after the last: a checkpoint, then (off the training path) an epoch if
 * one is due, of the work that has vested: receipts of rounds at least `holdingRounds` old (a cheat
 * found later can still be undone, and its work forfeited, before it counts), every receipt once
 * the run is over.
 */
export function checkpointAndEpoch(every: number, checkpoint: () => Promise<void>, feed: DashboardFeed, epochs: EpochPublisher | null, holdingRounds: number): AfterRoundStep {
  return {
    name: 'checkpoint',
    async run(r) {
      if (!due(every, r)) return;
      await checkpoint();
      feed.notice('checkpoint', `checkpoint of round ${r.completed} written`);
      epochs?.afterCheckpoint(r.last ? r.completed : Math.max(0, r.completed - holdingRounds));
    },
  };
}

/** A hook for whoever started the coordinator (the CLI prints the round, tests count them). */
export function reportRound(onRound: ((s: RoundSummary, c: Coordinator) => void) | undefined, coordinator: () => Coordinator): AfterRoundStep {
  return { name: 'report', run: (r) => onRound?.(r.summary, coordinator()) };
}

export function finishRun(feed: DashboardFeed, onFinished: (() => void) | undefined): AfterRoundStep {
  return {
    name: 'finish',
    run(r) {
      if (!r.last) return;
      feed.notice('finished', `the run is complete: ${r.completed} rounds`);
      onFinished?.();
    },
  };
}
