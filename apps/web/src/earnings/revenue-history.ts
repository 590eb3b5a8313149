import type { RevenueEpoch, RevenueView } from '@openshard/protocol';
import { formatEth, parseWei } from './format-wei.ts';

/**
 * What the Revenue history panel shows, computed from the coordinator's GET /revenue. Pure: values
 * in, values out. Wei stays BigInt; the only Numbers are bar heights, each a fraction of the tallest
 * bar computed in BigInt first.
 */

/** Epochs drawn in the chart, the latest ones: with more, a bar gets thinner than a pixel on a phone. */
export const CHART_EPOCHS = 48;
/** Epochs listed in the table, newest first. */
export const TABLE_ROWS = 12;
/** Steps between no bar and the tallest one. */
export const BAR_STEPS = 1_000n;

/** Checks an answer of GET /revenue before use; throws naming the offending value. */
export function parseRevenueView(body: unknown): RevenueView {
  const epochs = (body as { epochs?: unknown } | null)?.epochs;
  if (!Array.isArray(epochs)) throw new Error(`expected { epochs: [...] }, got ${JSON.stringify(body)?.slice(0, 200)}`);
  for (const e of epochs as RevenueEpoch[]) {
    const bad = (field: string) => new Error(`epoch ${JSON.stringify(e).slice(0, 200)} has no valid '${field}'`);
    if (!Number.isInteger(e?.epoch)) throw bad('epoch');
    if (typeof e.closedAt !== 'number') throw bad('closedAt');
    if (!Number.isInteger(e.requests) || e.requests < 0) throw bad('requests');
    if (typeof e.published !== 'boolean') throw bad('published');
    if (!isWei(e.revenue)) throw bad('revenue');
    if (!isWei(e.paidForRequests)) throw bad('paidForRequests');
    if (e.holderPart !== null && !isWei(e.holderPart)) throw bad('holderPart');
  }
  return { epochs };
}

/** One epoch in the table: amounts in ETH as shown, and the exact wei (the cells' data-wei). */
export interface RevenueRow {
  epoch: number;
  closedAt: number;
  requests: number;
  revenueWei: string;
  revenueEth: string;
  /** null when the view was asked for without an address. */
  partWei: string | null;
  partEth: string | null;
  published: boolean;
}

/** The latest `limit` epochs, newest first. */
export function revenueRows(view: RevenueView, limit = TABLE_ROWS): RevenueRow[] {
  return latest(view.epochs, limit)
    .reverse()
    .map((e) => ({
      epoch: e.epoch,
      closedAt: e.closedAt,
      requests: e.requests,
      revenueWei: e.revenue,
      revenueEth: formatEth(e.revenue),
      partWei: e.holderPart,
      partEth: e.holderPart === null ? null : formatEth(e.holderPart),
      published: e.published,
    }));
}

/** One epoch in the chart: heights in [0, 1] of the tallest bar; a non-zero amount is never 0 high. */
export interface RevenueBar {
  epoch: number;
  closedAt: number;
  revenue: number;
  part: number | null;
  revenueEth: string;
  partEth: string | null;
}

export interface RevenueChart {
  /** Oldest first. */
  bars: RevenueBar[];
  /** The amount a bar of height 1 stands for: the largest revenue or part drawn (0 when nothing came in). */
  tallestWei: bigint;
}

/** Bars for the latest `limit` epochs: each epoch's revenue and the address's part of it, on one scale. */
export function revenueChart(view: RevenueView, limit = CHART_EPOCHS): RevenueChart {
  const shown = latest(view.epochs, limit);
  // a part can exceed its epoch's revenue: revenue carried from epochs nobody held shares in is paid out later
  let tallestWei = 0n;
  for (const e of shown) {
    for (const amount of [e.revenue, e.holderPart ?? '0']) {
      const wei = parseWei(amount);
      if (wei > tallestWei) tallestWei = wei;
    }
  }
  const height = (wei: string) => barHeight(parseWei(wei), tallestWei);
  const bars = shown.map((e) => ({
    epoch: e.epoch,
    closedAt: e.closedAt,
    revenue: height(e.revenue),
    part: e.holderPart === null ? null : height(e.holderPart),
    revenueEth: formatEth(e.revenue),
    partEth: e.holderPart === null ? null : formatEth(e.holderPart),
  }));
  return { bars, tallestWei };
}

/** `wei` as a fraction of `tallest` in BAR_STEPS steps, rounded up so that any amount above 0 shows. */
export function barHeight(wei: bigint, tallest: bigint): number {
  if (wei <= 0n || tallest <= 0n) return 0;
  const steps = (wei * BAR_STEPS + tallest - 1n) / tallest;
  return Number(steps) / Number(BAR_STEPS);
}

export interface RevenueTotals {
  epochs: number;
  requests: number;
  revenue: bigint;
  /** What all epochs added to the address's entitlement: its cumulative entitlement. null without an address. */
  part: bigint | null;
}

/** Sums over every epoch, not only those shown. */
export function revenueTotals(view: RevenueView): RevenueTotals {
  let revenue = 0n;
  let part: bigint | null = null;
  let requests = 0;
  for (const e of view.epochs) {
    revenue += parseWei(e.revenue);
    if (e.holderPart !== null) part = (part ?? 0n) + parseWei(e.holderPart);
    requests += e.requests;
  }
  return { epochs: view.epochs.length, requests, revenue, part };
}

/** A non-negative amount of wei as a decimal string. */
function isWei(value: unknown): value is string {
  return typeof value === 'string' && /^\d+$/.test(value);
}

function latest(epochs: readonly RevenueEpoch[], limit: number): RevenueEpoch[] {
  return epochs.slice(Math.max(0, epochs.length - limit));
}
