import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deployRevenueDistributor, revenueDistributorAbi } from '@openshard/contracts';
import { createLocalClients, startAnvil, type Anvil } from '@openshard/contracts/node';
import { loadEpochTree } from '@openshard/ownership';
import Database from 'better-sqlite3';
import { parseEther, toHex, type Address } from 'viem';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { distributorChain, type DistributorChain } from '../src/ownership/distributor-chain.ts';
import { EpochService } from '../src/ownership/epoch-service.ts';
import { openSqliteStores } from '../src/store/sqlite/open-sqlite-stores.ts';
import type { Stores, TaskRecord } from '../src/store/stores.ts';

let anvil: Anvil;
const dirs: string[] = [];
const opened: Stores[] = [];
beforeAll(async () => {
  anvil = await startAnvil();
});
afterAll(async () => {
  await anvil?.stop();
  for (const s of opened) await s.close();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

/** A fresh distributor (admin: dev account 0, publisher: dev account 1), store and service. */
async function setup() {
  const [admin, publisher, payer, alice, bob] = anvil.accounts;
  const clients = createLocalClients(anvil, admin);
  const distributor = await deployRevenueDistributor(clients, { admin: admin.address, publisher: publisher.address });
  const chain = distributorChain({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, distributor, publisherKey: toHex(publisher.getHdKey().privateKey!) });
  const dir = mkdtempSync(join(tmpdir(), 'openshard-epochs-'));
  dirs.push(dir);
  const path = join(dir, 'openshard.sqlite');
  const stores = await openSqliteStores(path);
  opened.push(stores);
  const { runs: store, epochs } = stores;
  await store.createRun('run', '{}', 0);
  const published: number[] = [];
  const service = new EpochService(store, epochs, 'run', chain, { everyRounds: 2, everyMs: 3_600_000 }, 0, { published: (epoch) => published.push(epoch) });
  const payerClients = createLocalClients(anvil, payer);
  const deposit = async (eth: string) => {
    const hash = await payerClients.walletClient.sendTransaction({ to: distributor, value: parseEther(eth) });
    await clients.publicClient.waitForTransactionReceipt({ hash });
  };
  const work = async (round: number, credits: [Address | null, number][]) => {
    const tasks: TaskRecord[] = credits.map(([address, flops], m) => ({
      round,
      taskId: `r${round}/m${m}`,
      leaseId: `L${round}.${m}`,
      volunteer: address ?? 'anon',
      kind: 'lossAndBackward',
      shard: 0,
      microBatch: m,
      flops,
      computeMs: 1,
      address,
    }));
    await store.closeRound('run', { round, loss: 1, tokens: 1, closedAt: round }, tasks);
  };
  return { clients, distributor, chain, path, store, epochs, service, published, deposit, work, alice, bob };
}

describe('epochs: receipts → entitlements → Merkle root on chain (anvil)', () => {
  test('behavior: epochs close every 2 final rounds; new shares earn from the next epoch; a holder claims exactly its entitlement with the stored proof', async () => {
    const { clients, distributor, chain, epochs, service, published, deposit, work, alice, bob } = await setup();
    await work(0, [
      [alice.address, 100],
      [null, 100],
    ]);
    await work(1, [[alice.address, 100]]);
    await deposit('1');
    // nothing is final before round 2
    expect(await service.afterCheckpoint(1, 10)).toBeNull();
    const first = (await service.afterCheckpoint(2, 20))!;
    // Alice's 200 FLOPs were earned during epoch 1: they earn from epoch 2; the 1 ETH waits
    expect(first).toMatchObject({ epoch: 1, throughRound: 2, revenue: parseEther('1'), totalCumulative: 0n });
    expect(Number(await chain.currentEpoch())).toBe(1);

    await work(2, [
      [alice.address, 100],
      [bob.address, 100],
    ]);
    await work(3, [[bob.address, 100]]);
    await deposit('3');
    const second = (await service.afterCheckpoint(4, 40))!;
    expect(second).toMatchObject({ epoch: 2, revenue: parseEther('3'), totalCumulative: parseEther('4') });
    expect((await epochs.latestPublished('run'))!.epoch).toBe(2);
    expect(await chain.root()).toBe(second.root);
    expect(published).toEqual([1, 2]);

    const tree = loadEpochTree(second.tree, { root: second.root, chainId: anvil.chainId, distributor });
    const claim = tree.claim(alice.address)!;
    expect(claim).toMatchObject({ shares: 300n, cumulative: parseEther('4') });
    expect(tree.claim(bob.address)).toMatchObject({ shares: 200n, cumulative: 0n });
    const before = await clients.publicClient.getBalance({ address: alice.address });
    const aliceClients = createLocalClients(anvil, alice);
    const hash = await aliceClients.walletClient.writeContract({
      address: distributor,
      abi: revenueDistributorAbi,
      functionName: 'claim',
      args: [alice.address, claim.shares, claim.cumulative, claim.proof],
    });
    const receipt = await clients.publicClient.waitForTransactionReceipt({ hash });
    const after = await clients.publicClient.getBalance({ address: alice.address });
    expect(after - before).toBe(parseEther('4') - receipt.gasUsed * receipt.effectiveGasPrice);
    expect(await chain.claimed(alice.address)).toBe(parseEther('4'));
  });

  test('behavior: an epoch stored but not marked published before a crash is found on chain, or published, exactly once', async () => {
    const { chain, path, epochs, service, deposit, work, alice } = await setup();
    await work(0, [[alice.address, 100]]);
    await work(1, [[alice.address, 100]]);
    await deposit('2');
    // the service stores epoch 1 and publishes it; then "crash": the mark is lost
    const e1 = (await service.afterCheckpoint(2, 1))!;
    const storedTx = (await epochs.latest('run'))!.publishedTx;
    expect(storedTx).toMatch(/^0x[0-9a-f]{64}$/);
    const db = new Database(path);
    db.prepare('UPDATE epochs SET published_tx = NULL').run();
    db.close();
    await service.publishPending();
    expect((await epochs.latest('run'))!.publishedTx).toBe('found-on-chain');
    expect(Number(await chain.currentEpoch())).toBe(e1.epoch);
    // a later epoch goes out once, in order
    await work(2, [[alice.address, 100]]);
    await work(3, [[alice.address, 100]]);
    await service.afterCheckpoint(4, 2);
    await service.publishPending();
    expect(Number(await chain.currentEpoch())).toBe(2);
  });

  test('error: a root the deposits do not cover is refused by the chain and stays unpublished', async () => {
    const { chain, store, epochs, service, work, alice } = await setup();
    await work(0, [[alice.address, 100]]);
    await work(1, [[alice.address, 100]]);
    await service.afterCheckpoint(2, 1);
    const bogus: DistributorChain = { ...chain, totalDeposited: async () => parseEther('100') };
    const lying = new EpochService(store, epochs, 'run', bogus, { everyRounds: 2, everyMs: 3_600_000 }, 0);
    await work(2, [[alice.address, 100]]);
    await work(3, [[alice.address, 100]]);
    await expect(lying.afterCheckpoint(4, 2)).rejects.toThrow(/NotCovered/);
    expect((await epochs.unpublished('run')).map((e) => e.epoch)).toEqual([2]);
    expect(Number(await chain.currentEpoch())).toBe(1);
  });
});
