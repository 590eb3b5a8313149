import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildEpochTree, closeEpoch, createEpochState, entitlements, type EpochState } from '@openshard/ownership';
import type { RevenueView } from '@openshard/protocol';
import { afterAll, describe, expect, test } from 'vitest';
import { buildApp } from '../src/http/app.ts';
import { revenueRoutes } from '../src/http/revenue-routes.ts';
import { openSqliteStores } from '../src/store/sqlite/open-sqlite-stores.ts';
import type { EpochRecord, Stores } from '../src/store/stores.ts';

const ALICE = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const BOB = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';
const DISTRIBUTOR = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const dirs: string[] = [];
const opened: Stores[] = [];
afterAll(async () => {
  for (const s of opened) await s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function record(state: EpochState, revenue: bigint, createdAt: number, published: boolean): EpochRecord {
  const tree = buildEpochTree({ chainId: 31337, distributor: DISTRIBUTOR, holders: entitlements(state) });
  return {
    epoch: state.epoch,
    throughRound: state.epoch * 10,
    revenue,
    totalDeposited: state.totalRevenue,
    root: tree.root,
    totalCumulative: tree.total,
    state,
    tree: tree.dump(),
    createdAt,
    publishedTx: published ? 'found-on-chain' : null,
  };
}

describe('GET /revenue: the revenue history of the Earnings page', () => {
  test('behavior: per epoch the revenue, the requests served in it with what they paid, and what it added to the holder’s entitlement', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'openshard-revenue-'));
    dirs.push(dir);
    const stores = await openSqliteStores(join(dir, 'openshard.sqlite'));
    opened.push(stores);
    // epoch 1: Alice 3 shares, Bob 1, 400 wei (carried: nobody held shares before it); epoch 2: Bob 4 more shares,
    // 800 wei: 1,200 wei over the 4 shares held before it (Alice 3, Bob 1)
    const one = closeEpoch(createEpochState(), {
      newShares: new Map([
        [ALICE, 3n],
        [BOB, 1n],
      ]),
      revenue: 400n,
    });
    const two = closeEpoch(one, { newShares: new Map([[BOB, 4n]]), revenue: 800n });
    await stores.epochs.add('run', record(one, 400n, 1_000, true));
    await stores.epochs.add('run', record(two, 800n, 2_000, false));
    const served = async (id: number, at: number, paid: bigint) => {
      const requestId = `0x${id.toString(16).padStart(64, '0')}` as const;
      await stores.payments.addQuote({ requestId, model: 'm', tokens: 1, amount: paid, expiresAt: at + 1, createdAt: at, state: 'quoted', servedAt: null, paid: null, completionTokens: null });
      await stores.payments.startServing(requestId);
      await stores.payments.served(requestId, paid, 1, at);
    };
    await served(1, 500, 300n);
    await served(2, 1_500, 500n);
    await served(3, 1_600, 300n);
    const app = buildApp([revenueRoutes({ epochs: stores.epochs, payments: stores.payments, runId: 'run' })]);
    const view = (await (await app.request(`/revenue?address=${ALICE.toLowerCase()}`)).json()) as RevenueView;
    expect(view.epochs).toEqual([
      { epoch: 1, closedAt: 1_000, revenue: '400', requests: 1, paidForRequests: '300', holderPart: '0', published: true },
      { epoch: 2, closedAt: 2_000, revenue: '800', requests: 2, paidForRequests: '800', holderPart: '900', published: false },
    ]);
    const bob = (await (await app.request(`/revenue?address=${BOB}`)).json()) as RevenueView;
    expect(bob.epochs.map((e) => e.holderPart)).toEqual(['0', '300']);
    expect(((await (await app.request('/revenue')).json()) as RevenueView).epochs.map((e) => e.holderPart)).toEqual([null, null]);
    const bad = await app.request('/revenue?address=0x12');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'bad-address', message: "'0x12' is not an Ethereum address (0x and 40 hex digits)" });
  });
});
