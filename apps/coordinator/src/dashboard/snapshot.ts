import { unigramEntropy } from '@openshard/data';
import { parameterCount, parameterSpecs } from '@openshard/model';
import type { RoundPoint, RunInfo } from '@openshard/protocol';
import type { RoundRecord } from '../store/stores.ts';
import type { OpenedRun } from '../run/open-run.ts';

/**
 * A closed round as the dashboard plots it. The store and the wire between coordinator and
 * volunteers name a round by its 0-based index; curves are indexed by rounds completed (the
 * single-process trainer's step), which for round r is r + 1. This is the one place that converts.
 */
export function roundPoint(r: RoundRecord): RoundPoint {
  return { round: r.round + 1, loss: r.loss, tokens: r.tokens, closedAt: r.closedAt };
}

export function runInfo(opened: OpenedRun, trainBytes: Uint8Array): RunInfo {
  const { options } = opened.run;
  const { config } = options;
  return {
    id: opened.id,
    preset: opened.spec.preset,
    config,
    shards: options.shards,
    batch: options.batch,
    microBatches: options.microBatches,
    rounds: opened.spec.rounds,
    tokensPerRound: options.batch * options.microBatches * config.contextLength,
    parameters: parameterCount(parameterSpecs(config)),
    unigramEntropy: unigramEntropy(trainBytes),
  };
}
