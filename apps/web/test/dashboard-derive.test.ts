import type { LiveStats, RoundPoint, ValidationPoint } from '@openshard/protocol';
import { describe, expect, test } from 'vitest';
import {
  byteRates,
  latencySeries,
  lossCurves,
  lossSummary,
  MAX_ROUND_GAP_MS,
  roundsCompleted,
  throughput,
  tokensTrained,
  validationSummary,
  servingSummary,
  verificationSummary,
  volunteerActivity,
} from '../src/dashboard/derive.ts';
import { formatClock, formatFlops, formatLayers, formatPercent } from '../src/dashboard/format.ts';
import { dashboardReducer, INITIAL_DASHBOARD, MAX_EVENTS_SHOWN } from '../src/dashboard/use-dashboard.ts';

const round = (r: number, closedAt: number, loss = 5, tokens = 1000): RoundPoint => ({ round: r, loss, tokens, closedAt });
const sample = (at: number, bytesIn: number, bytesOut: number, latency: LiveStats['latency'] = null): LiveStats => ({
  at,
  round: 0,
  finished: false,
  volunteers: [],
  shards: [],
  latency,
  bytesIn,
  bytesOut,
  maxExposure: 0,
  exposureBudget: 0.5,
  verification: null,
  serving: null,
});

describe('throughput', () => {
  test("behavior: tokens/s is the round's tokens over the time since the previous round closed; the first round has none", () => {
    const t = throughput([round(1, 10_000), round(2, 12_000, 5, 1000), round(3, 12_500, 5, 500)]);
    expect(t.rounds).toEqual([1, 2, 3]);
    expect(t.tokensPerSecond).toEqual([null, 500, 1000]);
  });

  test('behavior: a gap longer than five minutes (a coordinator restart) gives no rate and splits the rounds/min window', () => {
    const restart = 2_000 + MAX_ROUND_GAP_MS + 1;
    const t = throughput([round(1, 0), round(2, 1_000), round(3, 2_000), round(4, restart), round(5, restart + 2_000)]);
    expect(t.tokensPerSecond).toEqual([null, 1000, 1000, null, 500]);
    // 2 rounds in 2 s before the restart; 1 round in 2 s after it
    expect(t.roundsPerMinute).toEqual([null, 60, 60, null, 30]);
  });

  test('behavior: rounds/min looks back over at most the window of recent rounds', () => {
    // rounds 1 s apart, then one round that took 11 s
    const rounds = Array.from({ length: 12 }, (_, i) => round(i + 1, i * 1000));
    rounds.push(round(13, 22_000));
    const t = throughput(rounds, MAX_ROUND_GAP_MS, 10);
    expect(t.roundsPerMinute[11]).toBeCloseTo(60);
    // rounds 3..13: 10 rounds in 20 s
    expect(t.roundsPerMinute[12]).toBeCloseTo(30);
  });

  test('behavior: no rounds and one round give empty or null series', () => {
    expect(throughput([])).toEqual({ rounds: [], tokensPerSecond: [], roundsPerMinute: [] });
    expect(throughput([round(1, 5)])).toEqual({ rounds: [1], tokensPerSecond: [null], roundsPerMinute: [null] });
  });

  test('behavior: rounds that closed in the same millisecond give no rate rather than Infinity', () => {
    expect(throughput([round(1, 5), round(2, 5)]).tokensPerSecond).toEqual([null, null]);
  });
});

describe('byte rates', () => {
  test('behavior: rates come from consecutive cumulative counters; a counter reset gives none', () => {
    const r = byteRates([sample(0, 0, 0), sample(1000, 2000, 500), sample(3000, 6000, 1500), sample(4000, 100, 50), sample(5000, 1100, 250)]);
    expect(r.at).toEqual([0, 1000, 3000, 4000, 5000]);
    expect(r.bytesInPerSecond).toEqual([null, 2000, 2000, null, 1000]);
    expect(r.bytesOutPerSecond).toEqual([null, 500, 500, null, 200]);
  });

  test('behavior: no samples give empty series', () => {
    expect(byteRates([])).toEqual({ at: [], bytesInPerSecond: [], bytesOutPerSecond: [] });
  });
});

test('behavior: latency percentiles are null while the coordinator has none', () => {
  const l = latencySeries([sample(0, 0, 0), sample(1000, 0, 0, { p50: 10, p90: 20, p99: 30, samples: 4 })]);
  expect(l).toEqual({ at: [0, 1000], p50: [null, 10], p90: [null, 20], p99: [null, 30] });
});

describe('loss curves', () => {
  test('behavior: training, validation and reference share one round axis, with nulls where a curve has no value', () => {
    const validation: ValidationPoint[] = [
      { round: 0, loss: 5.5, at: 0 },
      { round: 2, loss: 4, at: 1 },
    ];
    const c = lossCurves([round(1, 0, 5), round(2, 0, 4.5)], validation, [
      { round: 1, loss: 5.1 },
      { round: 2, loss: 4.4, validationLoss: 4.2 },
      { round: 3, loss: 4 },
    ]);
    expect(c.rounds).toEqual([0, 1, 2, 3]);
    expect(c.training).toEqual([null, 5, 4.5, null]);
    expect(c.validation).toEqual([5.5, null, 4, null]);
    expect(c.referenceLoss).toEqual([null, 5.1, 4.4, 4]);
    expect(c.referenceValidation).toEqual([null, null, 4.2, null]);
  });

  test('behavior: without a reference or any history the curves are empty', () => {
    expect(lossCurves([], [], null)).toEqual({ rounds: [], training: [], validation: [], referenceLoss: [], referenceValidation: [] });
  });
});

describe('summaries', () => {
  test('behavior: the loss summary reads first → latest over the rounds in history', () => {
    expect(lossSummary([round(1, 0, 5.5412), round(2, 0, 4), round(3, 0, 3.2104)])).toBe('training loss 5.541 → 3.210 over 3 rounds');
    expect(lossSummary([round(1, 0, 5.5)])).toBe('training loss 5.500 → 5.500 over 1 round');
    expect(lossSummary([])).toBeNull();
  });

  test('behavior: the validation summary reads first → latest, and is absent without measurements', () => {
    expect(
      validationSummary([
        { round: 0, loss: 5.53, at: 0 },
        { round: 4, loss: 3.3, at: 1 },
      ]),
    ).toBe('validation loss 5.530 → 3.300');
    expect(validationSummary([])).toBeNull();
  });

  test('behavior: progress counts tokens over all rounds and the round from the latest stats first', () => {
    expect(tokensTrained([round(1, 0, 5, 64), round(2, 0, 5, 64)])).toBe(128);
    expect(tokensTrained([])).toBe(0);
    expect(roundsCompleted([round(1, 0), round(2, 0)], { ...sample(0, 0, 0), round: 3 })).toBe(3);
    expect(roundsCompleted([round(1, 0), round(2, 0)], undefined)).toBe(2);
    expect(roundsCompleted([], undefined)).toBe(0);
  });

  test('behavior: a volunteer that does not accept tasks is paused, busy or not', () => {
    expect(volunteerActivity({ busy: true, accepting: false })).toBe('paused');
    expect(volunteerActivity({ busy: true, accepting: true })).toBe('busy');
    expect(volunteerActivity({ busy: false, accepting: true })).toBe('idle');
  });

  test('behavior: numbers read the way the page shows them', () => {
    expect(formatPercent(0.5)).toBe('50.0 %');
    expect(formatFlops(1.234e9)).toBe('1.23 GFLOP');
    expect(formatFlops(512)).toBe('512 FLOP');
    expect(formatLayers(0, 4)).toBe('0–3');
    expect(formatLayers(4, 5)).toBe('4');
    expect(formatClock(new Date(2025, 0, 1, 9, 5, 7).getTime())).toBe('09:05:07');
  });
});

describe('dashboard state', () => {
  const snapshot = {
    run: {
      id: 'r',
      preset: 'micro',
      config: { vocabSize: 256, contextLength: 32, layers: 2, heads: 2, width: 32 },
      shards: 2,
      batch: 1,
      microBatches: 2,
      rounds: 6,
      tokensPerRound: 64,
      parameters: 1,
      unigramEntropy: 4,
    },
    rounds: [round(1, 0)],
    validation: [],
    reference: null,
    stats: [sample(0, 0, 0)],
    events: [
      { at: 1, kind: 'join' as const, text: 'a joined' },
      { at: 2, kind: 'join' as const, text: 'b joined' },
    ],
  };

  test('behavior: a snapshot replaces everything, with events newest first; live updates append', () => {
    let s = dashboardReducer(INITIAL_DASHBOARD, { type: 'round', round: round(9, 0) });
    s = dashboardReducer(s, { type: 'snapshot', snapshot });
    expect(s.rounds.map((r) => r.round)).toEqual([1]);
    expect(s.events.map((e) => e.text)).toEqual(['b joined', 'a joined']);
    s = dashboardReducer(s, { type: 'event', event: { at: 3, kind: 'leave', text: 'a left' } });
    s = dashboardReducer(s, { type: 'round', round: round(2, 1) });
    expect(s.events[0].text).toBe('a left');
    expect(s.rounds.map((r) => r.round)).toEqual([1, 2]);
  });

  test('behavior: the feed keeps the newest events only', () => {
    let s = dashboardReducer(INITIAL_DASHBOARD, { type: 'snapshot', snapshot });
    for (let i = 0; i < MAX_EVENTS_SHOWN + 5; i++) s = dashboardReducer(s, { type: 'event', event: { at: 10 + i, kind: 'join', text: `v${i}` } });
    expect(s.events).toHaveLength(MAX_EVENTS_SHOWN);
    expect(s.events[0].text).toBe(`v${MAX_EVENTS_SHOWN + 4}`);
  });
});

describe('verification summary', () => {
  test('behavior: says what was audited, by whom, and what was caught; says so when verification is off', () => {
    expect(verificationSummary(undefined)).toBe('—');
    expect(verificationSummary(null)).toBe('off: results are not audited');
    expect(verificationSummary({ audits: 12, agreed: 7, reexecuted: 5, banned: 0 })).toBe('12 results audited (7 confirmed by another volunteer, 5 re-executed by the coordinator); no cheat caught');
    expect(verificationSummary({ audits: 3, agreed: 1, reexecuted: 2, banned: 1 })).toMatch(/; 1 cheater caught$/);
    expect(verificationSummary({ audits: 3, agreed: 1, reexecuted: 2, banned: 2 })).toMatch(/; 2 cheaters caught$/);
  });
});

describe('serving summary', () => {
  test('behavior: names the model, the requests and their speed, and who serves each shard; says when nothing is served yet', () => {
    expect(servingSummary(undefined)).toBe('—');
    expect(servingSummary(null)).toBe('nothing yet: the first checkpoint is served once it is written');
    const live = { model: 'openshard-tiny', checkpoint: 'step-000010', requests: 3, failed: 1, tokens: 48, tokensPerSecond: 12.345, ttftMs: 80.4, serversPerShard: [0, 2] };
    expect(servingSummary(live)).toBe('openshard-tiny (step-000010): 3 requests (1 failed), 48 tokens, 12.3 tokens/s, first token in 80 ms; served by shard 0: the coordinator, shard 1: 2 volunteers');
  });
});
