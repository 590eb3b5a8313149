import { entitlementOf } from '@openshard/ownership';
import type { RevenueEpoch, RevenueView } from '@openshard/protocol';
import { Hono } from 'hono';
import { getAddress, isAddress } from 'viem';
import type { EpochStore, PaymentStore } from '../store/stores.ts';
import { HttpError } from './http-error.ts';

/**
 * The revenue history, for the Earnings page:
 *   GET /revenue[?address=0x…]  → RevenueView: per epoch, the revenue, the requests served, and the address's part
 */
export function revenueRoutes(o: { epochs: EpochStore; payments: PaymentStore; runId: string }) {
  return new Hono().get('/revenue', async (c) => {
    c.header('cache-control', 'no-store');
    const raw = c.req.query('address');
    if (raw !== undefined && !isAddress(raw, { strict: false })) throw new HttpError(400, 'bad-address', `'${raw.slice(0, 64)}' is not an Ethereum address (0x and 40 hex digits)`);
    const address = raw === undefined ? null : getAddress(raw);
    const records = await o.epochs.all(o.runId);
    const epochs: RevenueEpoch[] = [];
    for (let i = 0; i < records.length; i++) {
      const e = records[i];
      const previous = i > 0 ? records[i - 1] : null;
      const served = await o.payments.servedBetween(previous?.createdAt ?? 0, e.createdAt);
      const part = address ? entitlementOf(e.state, address) - (previous ? entitlementOf(previous.state, address) : 0n) : null;
      epochs.push({
        epoch: e.epoch,
        closedAt: e.createdAt,
        revenue: e.revenue.toString(),
        requests: served.requests,
        paidForRequests: served.paid.toString(),
        holderPart: part === null ? null : part.toString(),
        published: e.publishedTx !== null,
      });
    }
    const view: RevenueView = { epochs };
    return c.json(view);
  });
}
