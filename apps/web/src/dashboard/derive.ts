import type { LiveStats, ReferencePoint, RoundPoint, ValidationPoint } from '@openshard/protocol';

/**
 * What the dashboard's charts and summaries show, computed from the coordinator's history. Pure:
 * values in, values out. Series are aligned arrays (one entry per x value) with null where there is
 * nothing to draw, which is the shape uPlot takes.
 */

/** A gap between two rounds longer than this (ms) is a pause or a coordinator restart, not throughput. */
export const MAX_ROUND_GAP_MS = 5 * 60_000;
/** Rounds per minute is averaged over at most this many recent rounds. */
export const ROUNDS_PER_MINUTE_WINDOW = 10;

export type Series = (number | null)[];

export interface LossCurves {
  /** Every round that any curve has a value for, ascending. */
  rounds: number[];
  training: Series;
  validation: Series;
  referenceLoss: Series;
  referenceValidation: Series;
}

/** The run's loss curves and, when it has one, the single-process reference, on one round axis. */
export function lossCurves(rounds: readonly RoundPoint[], validation: readonly ValidationPoint[], reference: readonly ReferencePoint[] | null): LossCurves {
  const training = new Map(rounds.map((r) => [r.round, r.loss]));
  const measured = new Map(validation.map((v) => [v.round, v.loss]));
  const refLoss = new Map<number, number>();
  const refValidation = new Map<number, number>();
  for (const p of reference ?? []) {
    if (p.loss !== undefined) refLoss.set(p.round, p.loss);
    if (p.validationLoss !== undefined) refValidation.set(p.round, p.validationLoss);
  }
  const xs = [...new Set([...training.keys(), ...measured.keys(), ...refLoss.keys(), ...refValidation.keys()])].sort((a, b) => a - b);
  const at = (m: Map<number, number>) => xs.map((x) => m.get(x) ?? null);
  return { rounds: xs, training: at(training), validation: at(measured), referenceLoss: at(refLoss), referenceValidation: at(refValidation) };
}

export interface Throughput {
  rounds: number[];
  /** Tokens of the round over the time since the round before it closed. */
  tokensPerSecond: Series;
  /** Rounds closed per minute over the last ROUNDS_PER_MINUTE_WINDOW rounds, never across a gap. */
  roundsPerMinute: Series;
}

/** Training throughput by round, from when consecutive rounds closed; null where a gap or the first round leaves no interval. */
export function throughput(rounds: readonly RoundPoint[], maxGapMs = MAX_ROUND_GAP_MS, window = ROUNDS_PER_MINUTE_WINDOW): Throughput {
  // interval i is between rounds i-1 and i; it counts only when time moved forward by less than the gap
  const interval = (i: number): number | null => {
    if (i === 0) return null;
    const dt = rounds[i].closedAt - rounds[i - 1].closedAt;
    return dt > 0 && dt <= maxGapMs ? dt : null;
  };
  const tokensPerSecond = rounds.map((r, i) => {
    const dt = interval(i);
    return dt === null ? null : (r.tokens / dt) * 1000;
  });
  const roundsPerMinute = rounds.map((r, i) => {
    let from = i;
    while (from > 0 && i - from < window && interval(from) !== null) from--;
    return from === i ? null : ((i - from) / (r.closedAt - rounds[from].closedAt)) * 60_000;
  });
  return { rounds: rounds.map((r) => r.round), tokensPerSecond, roundsPerMinute };
}

export interface ByteRates {
  /** Unix ms of each stats sample. */
  at: number[];
  bytesInPerSecond: Series;
  bytesOutPerSecond: Series;
}

/**
 * Bytes per second between consecutive stats samples, from the coordinator's cumulative counters.
 * A counter that went down (the coordinator restarted) or time that did not move gives no rate.
 */
export function byteRates(stats: readonly LiveStats[]): ByteRates {
  const rate = (i: number, count: (s: LiveStats) => number): number | null => {
    if (i === 0) return null;
    const dt = stats[i].at - stats[i - 1].at;
    const bytes = count(stats[i]) - count(stats[i - 1]);
    return dt > 0 && bytes >= 0 ? (bytes / dt) * 1000 : null;
  };
  return {
    at: stats.map((s) => s.at),
    bytesInPerSecond: stats.map((_, i) => rate(i, (s) => s.bytesIn)),
    bytesOutPerSecond: stats.map((_, i) => rate(i, (s) => s.bytesOut)),
  };
}

export interface LatencySeries {
  at: number[];
  /** Task latency percentiles (ms); null while no task was accepted in the window. */
  p50: Series;
  p90: Series;
  p99: Series;
}

export function latencySeries(stats: readonly LiveStats[]): LatencySeries {
  return {
    at: stats.map((s) => s.at),
    p50: stats.map((s) => s.latency?.p50 ?? null),
    p90: stats.map((s) => s.latency?.p90 ?? null),
    p99: stats.map((s) => s.latency?.p99 ?? null),
  };
}

/** "training loss 5.541 → 3.210 over 12 rounds"; null before the first round closes. */
export function lossSummary(rounds: readonly RoundPoint[]): string | null {
  if (rounds.length === 0) return null;
  const n = rounds.length;
  return `training loss ${rounds[0].loss.toFixed(3)} → ${rounds[n - 1].loss.toFixed(3)} over ${n} ${n === 1 ? 'round' : 'rounds'}`;
}

/** "validation loss 5.530 → 3.300"; null before the first measurement. */
export function validationSummary(validation: readonly ValidationPoint[]): string | null {
  if (validation.length === 0) return null;
  return `validation loss ${validation[0].loss.toFixed(3)} → ${validation[validation.length - 1].loss.toFixed(3)}`;
}

export function tokensTrained(rounds: readonly RoundPoint[]): number {
  return rounds.reduce((sum, r) => sum + r.tokens, 0);
}

/** Rounds completed: the latest stats say so first; before any stats, the latest closed round. */
export function roundsCompleted(rounds: readonly RoundPoint[], latest: LiveStats | undefined): number {
  return latest?.round ?? rounds.at(-1)?.round ?? 0;
}

export type VolunteerActivity = 'busy' | 'idle' | 'paused';

export function volunteerActivity(v: { busy: boolean; accepting: boolean }): VolunteerActivity {
  if (!v.accepting) return 'paused';
  return v.busy ? 'busy' : 'idle';
}

/** The coordinator's verification in a line: what was audited, by whom, and what was caught. */
export function verificationSummary(v: LiveStats['verification'] | undefined): string {
  if (v === undefined) return '—';
  if (v === null) return 'off: results are not audited';
  const caught = v.banned === 0 ? 'no cheat caught' : `${v.banned} ${v.banned === 1 ? 'cheater' : 'cheaters'} caught`;
  return `${v.audits} results audited (${v.agreed} confirmed by another volunteer, ${v.reexecuted} re-executed by the coordinator); ${caught}`;
}

/** Serving in a line: the model, requests, speed, time to first token, and who serves the shards. */
export function servingSummary(s: LiveStats['serving'] | undefined): string {
  if (s === undefined) return '—';
  if (s === null) return 'nothing yet: the first checkpoint is served once it is written';
  const speed = s.tokensPerSecond === null ? '' : `, ${s.tokensPerSecond.toFixed(1)} tokens/s`;
  const ttft = s.ttftMs === null ? '' : `, first token in ${Math.round(s.ttftMs)} ms`;
  const failed = s.failed > 0 ? ` (${s.failed} failed)` : '';
  const shards = s.serversPerShard.map((n, i) => `shard ${i}: ${n === 0 ? 'the coordinator' : `${n} ${n === 1 ? 'volunteer' : 'volunteers'}`}`).join(', ');
  return `${s.model} (${s.checkpoint}): ${s.requests} ${s.requests === 1 ? 'request' : 'requests'}${failed}, ${s.tokens} tokens${speed}${ttft}; served by ${shards}`;
}
