import { si } from '../contribute/recent-rates.ts';

/** How the dashboard writes numbers and times for people. */

/** 0.5 → "50.0 %". */
export function formatPercent(fraction: number, digits = 1): string {
  return `${(fraction * 100).toFixed(digits)} %`;
}

/** 1.234e9 → "1.23 GFLOP". */
export function formatFlops(flops: number): string {
  return `${si(flops)}FLOP`;
}

/** 1.5e6 → "1.5 MB/s". */
export function formatByteRate(bytesPerSecond: number): string {
  return `${si(bytesPerSecond, 1)}B/s`;
}

/** A rate without its unit, for an axis that names the unit: 15000 → "15.0 k". */
export function formatRate(perSecond: number): string {
  return si(perSecond, 1).trimEnd();
}

/** 1.5e6 → "1.5 MB". */
export function formatBytes(bytes: number): string {
  return `${si(bytes, 1)}B`;
}

/** Milliseconds as "350 ms" or "1.2 s". */
export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** Local wall-clock time of a Unix ms instant, "HH:MM:SS". */
export function formatClock(at: number): string {
  const d = new Date(at);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

export { formatLayers } from '@openshard/model/shard-spec';

/** Run ids are long; the first few characters tell runs apart on screen. */
export function shortRunId(id: string): string {
  return id.length > 8 ? id.slice(0, 8) : id;
}
