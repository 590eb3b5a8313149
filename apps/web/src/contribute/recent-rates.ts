import type { VolunteerStats } from '@openshard/volunteer';

/** Throughput is averaged over this much of the recent past (ms). */
export const RATE_WINDOW_MS = 30_000;

export interface RecentRates {
  /** Accepted work per wall-clock second (FLOP/s). */
  flopsPerSecond: number;
  /** Share of the window spent computing, 0..1. */
  busyFraction: number;
  tasksPerMinute: number;
}

/** Rates between the oldest sample inside the window and the newest; null until two samples span time. */
export function recentRates(samples: readonly { at: number; stats: VolunteerStats }[], windowMs = RATE_WINDOW_MS): RecentRates | null {
  if (samples.length < 2) return null;
  const last = samples[samples.length - 1];
  const first = samples.find((s) => last.at - s.at <= windowMs) ?? last;
  const dt = last.at - first.at;
  if (dt <= 0) return null;
  return {
    flopsPerSecond: ((last.stats.flopsAccepted - first.stats.flopsAccepted) / dt) * 1000,
    busyFraction: Math.min(1, (last.stats.busyMs - first.stats.busyMs) / dt),
    tasksPerMinute: ((last.stats.tasksDone - first.stats.tasksDone) / dt) * 60_000,
  };
}

const UNITS = [
  [1e12, 'T'],
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
] as const;

/** 1234567 → "1.23 M" (for FLOP and FLOP/s). */
export function si(n: number, digits = 2): string {
  for (const [scale, prefix] of UNITS) if (Math.abs(n) >= scale) return `${(n / scale).toFixed(digits)} ${prefix}`;
  return `${n.toFixed(0)} `;
}
