import { describe, expect, test } from 'vitest';
import { checkpointAndEpoch } from '../src/after-round/steps.ts';
import { DashboardFeed } from '../src/dashboard/dashboard-feed.ts';
import { Telemetry } from '../src/dashboard/telemetry.ts';
import type { EpochPublisher } from '../src/ownership/epoch-publisher.ts';

describe('vesting', () => {
  test('behavior: an epoch counts only rounds older than the holding period, and every round once the run is over', async () => {
    const finalRounds: number[] = [];
    const epochs = { afterCheckpoint: (r: number) => finalRounds.push(r) } as unknown as EpochPublisher;
    let checkpoints = 0;
    const step = checkpointAndEpoch(
      5,
      async () => {
        checkpoints += 1;
      },
      new DashboardFeed(new Telemetry(0)),
      epochs,
      8,
    );
    const summary = { round: 0, loss: 1, tokens: 1 };
    for (const completed of [5, 10, 20, 23]) await step.run({ summary, tasks: [], completed, last: completed === 23, at: 0 });
    expect(checkpoints).toBe(4);
    // rounds before 5 − 8 (none), 10 − 8, 20 − 8; at the end everything
    expect(finalRounds).toEqual([0, 2, 12, 23]);
  });
});
