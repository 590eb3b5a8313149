import type { RevenueEpoch, RevenueView } from '@openshard/protocol';
import { describe, expect, test } from 'vitest';
import { WEI_PER_ETHER } from '../src/earnings/format-wei.ts';
import { BAR_STEPS, barHeight, CHART_EPOCHS, parseRevenueView, revenueChart, revenueRows, revenueTotals, TABLE_ROWS } from '../src/earnings/revenue-history.ts';

const epoch = (n: number, revenue: bigint, holderPart: bigint | null, requests = 0, published = true): RevenueEpoch => ({
  epoch: n,
  closedAt: n * 60_000,
  revenue: revenue.toString(),
  requests,
  paidForRequests: '0',
  holderPart: holderPart === null ? null : holderPart.toString(),
  published,
});
const view = (...epochs: RevenueEpoch[]): RevenueView => ({ epochs });
const many = (count: number) => view(...Array.from({ length: count }, (_, i) => epoch(i + 1, WEI_PER_ETHER, 0n)));

describe('parseRevenueView', () => {
  test('behavior: takes what GET /revenue answers, with or without an address', () => {
    const body = JSON.parse(JSON.stringify(view(epoch(1, 400n, 300n, 2), epoch(2, 800n, null, 0, false))));
    expect(parseRevenueView(body)).toEqual(body);
    expect(parseRevenueView({ epochs: [] })).toEqual({ epochs: [] });
  });

  test('error: an answer that is not a revenue view names the offending value', () => {
    expect(() => parseRevenueView({ message: 'not found' })).toThrow(/expected \{ epochs: \[\.\.\.\] \}, got \{"message":"not found"\}/);
    expect(() => parseRevenueView(null)).toThrow(/got null/);
    expect(() => parseRevenueView({ epochs: [{ ...epoch(1, 1n, 1n), revenue: '1.5' }] })).toThrow(/"revenue":"1.5".* has no valid 'revenue'/);
    expect(() => parseRevenueView({ epochs: [{ ...epoch(1, 1n, 1n), holderPart: 7 }] })).toThrow(/no valid 'holderPart'/);
    expect(() => parseRevenueView({ epochs: [{ ...epoch(1, 1n, 1n), paidForRequests: '-5' }] })).toThrow(/no valid 'paidForRequests'/);
    expect(() => parseRevenueView({ epochs: [{ ...epoch(1, 1n, 1n), requests: -1 }] })).toThrow(/no valid 'requests'/);
    expect(() => parseRevenueView({ epochs: [null] })).toThrow(/epoch null has no valid 'epoch'/);
  });
});

describe('revenueRows', () => {
  test('behavior: newest first, amounts in ETH rounded toward zero, with the exact wei beside them', () => {
    const rows = revenueRows(view(epoch(1, 1_500_000_000_000_000_000n, 0n, 3), epoch(2, 2n * WEI_PER_ETHER, 1_234_567_890_000_000_000n, 5, false)));
    expect(rows.map((r) => r.epoch)).toEqual([2, 1]);
    expect(rows[0]).toEqual({
      epoch: 2,
      closedAt: 120_000,
      requests: 5,
      revenueWei: '2000000000000000000',
      revenueEth: '2.000000',
      partWei: '1234567890000000000',
      partEth: '1.234567',
      published: false,
    });
    expect(rows[1]).toMatchObject({ revenueEth: '1.500000', partEth: '0.000000', requests: 3, published: true });
  });

  test('behavior: a view without an address has no part', () => {
    expect(revenueRows(view(epoch(1, 1n, null)))[0]).toMatchObject({ partWei: null, partEth: null });
  });

  test('behavior: only the latest epochs, TABLE_ROWS by default', () => {
    expect(revenueRows(many(30)).map((r) => r.epoch)).toEqual(Array.from({ length: TABLE_ROWS }, (_, i) => 30 - i));
    expect(revenueRows(many(3), 2).map((r) => r.epoch)).toEqual([3, 2]);
    expect(revenueRows(view())).toEqual([]);
  });
});

describe('revenueChart', () => {
  test('behavior: oldest first, revenue and part on one scale whose top is the largest amount drawn', () => {
    const c = revenueChart(view(epoch(1, 400n, 100n), epoch(2, 800n, 0n), epoch(3, 200n, 200n)));
    expect(c.tallestWei).toBe(800n);
    expect(c.bars.map((b) => [b.epoch, b.revenue, b.part])).toEqual([
      [1, 0.5, 0.125],
      [2, 1, 0],
      [3, 0.25, 0.25],
    ]);
    expect(c.bars[0]).toMatchObject({ closedAt: 60_000, revenueEth: '0.000000', partEth: '0.000000' });
  });

  test('behavior: a part above its epoch’s revenue (revenue carried from an epoch nobody held shares in) sets the scale', () => {
    const c = revenueChart(view(epoch(1, 400n, 0n), epoch(2, 200n, 600n)));
    expect(c.tallestWei).toBe(600n);
    expect(c.bars[1]).toMatchObject({ revenue: 0.334, part: 1 });
  });

  test('behavior: any amount above 0 gets a bar, however small beside the tallest', () => {
    const c = revenueChart(view(epoch(1, 10n ** 30n, 1n)));
    expect(c.bars[0].part).toBe(1 / Number(BAR_STEPS));
    expect(barHeight(0n, 10n)).toBe(0);
    expect(barHeight(1n, 3n)).toBe(0.334);
  });

  test('behavior: nothing came in: every height is 0 and the tallest is 0 wei', () => {
    const c = revenueChart(view(epoch(1, 0n, 0n), epoch(2, 0n, 0n)));
    expect(c.tallestWei).toBe(0n);
    expect(c.bars.every((b) => b.revenue === 0 && b.part === 0)).toBe(true);
  });

  test('behavior: only the latest CHART_EPOCHS epochs are drawn', () => {
    const c = revenueChart(many(CHART_EPOCHS + 5));
    expect(c.bars).toHaveLength(CHART_EPOCHS);
    expect(c.bars[0].epoch).toBe(6);
    expect(c.bars.at(-1)!.epoch).toBe(CHART_EPOCHS + 5);
  });

  test('behavior: heights come from BigInt wei: amounts past 2^53 that a Number cannot tell apart still differ', () => {
    const big = 2n ** 80n;
    const c = revenueChart(view(epoch(1, big * BAR_STEPS, 0n), epoch(2, big * BAR_STEPS - big + 1n, 0n)));
    // 999 steps and one wei is drawn 1000 steps high (rounded up), 999 steps exactly is 999
    expect(c.bars[1].revenue).toBe(1);
    expect(revenueChart(view(epoch(1, big * BAR_STEPS, 0n), epoch(2, big * (BAR_STEPS - 1n), 0n))).bars[1].revenue).toBe(0.999);
  });
});

describe('revenueTotals', () => {
  test('behavior: sums every epoch exactly in wei, also past 2^53', () => {
    const odd = 2n ** 53n + 1n;
    const t = revenueTotals(view(epoch(1, odd, odd, 2), epoch(2, odd, 1n, 3), epoch(3, odd, 0n)));
    expect(t).toEqual({ epochs: 3, requests: 5, revenue: 3n * odd, part: odd + 1n });
    expect(t.revenue).toBe(27_021_597_764_222_979n);
  });

  test('behavior: no epochs sum to nothing; without an address there is no part', () => {
    expect(revenueTotals(view())).toEqual({ epochs: 0, requests: 0, revenue: 0n, part: null });
    expect(revenueTotals(view(epoch(1, 5n, null))).part).toBeNull();
  });
});
