import type { Validation } from '../after-round/steps.ts';
import type { DashboardFeed } from '../dashboard/dashboard-feed.ts';
import type { OpenedRun } from '../run/open-run.ts';
import type { EpochStore, RunStore, TaskRecord } from '../store/stores.ts';

/** What a conviction and a rewind write down (the Coordinator's `banned` and `rewound` events). */
export interface TrustRecords {
  banned(address: string, reason: string): Promise<void>;
  rewound(round: number, pending: readonly TaskRecord[]): Promise<void>;
}

/**
 * Bans and rewinds made durable, in an order a crash at any point leaves consistent: a ban
 * forfeits what is not yet in an epoch; a rewind first checkpoints the restored state (a crash
 * from then on resumes before the undone rounds), deletes the checkpoints of the undone past, then
 * forgets the undone rounds in the store while keeping their work credited.
 */
export function trustRecords(o: { runs: RunStore; epochs: EpochStore; runId: string; opened: OpenedRun; feed: DashboardFeed; validation: Validation }): TrustRecords {
  return {
    async banned(address, reason) {
      const forfeitFrom = (await o.epochs.latest(o.runId))?.throughRound ?? 0;
      await o.runs.ban(o.runId, { address, reason, at: Date.now(), forfeitFrom });
    },
    async rewound(round, pending) {
      await o.opened.checkpoint();
      o.opened.forgetCheckpointsAfter(round);
      // the work done in the undone rounds stays credited (a cheater's is forfeited all the same)
      await o.runs.rewindTo(o.runId, round, pending, String(Date.now()));
      o.feed.rewind(round);
      await o.validation.atStart();
    },
  };
}
