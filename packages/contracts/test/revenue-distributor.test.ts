import { describe, expect, test } from 'vitest';
import { keccak256, parseEventLogs, toHex, zeroHash } from 'viem';
import { deployRevenueDistributor } from '../src/deploy.ts';
import { readDistributorState } from '../src/distributor.ts';
import { revenueDistributorAbi } from '../src/generated/artifacts.ts';
import { entitlementTree } from './fixtures.ts';
import { ETH, revertOf, useDistributorHarness } from './harness.ts';

const h = useDistributorHarness();
const PUBLISHER_ROLE = keccak256(toHex('PUBLISHER_ROLE'));

/** Epoch 1 after a 10 ETH deposit: alice is owed 6 ETH, bob 3 ETH, 1 ETH stays undistributed. */
async function epochOne() {
  const [alice, bob] = h.others;
  await h.deposit(10n * ETH);
  const tree = await h.publish(1n, [
    { account: alice.address, shares: 60n, cumulative: 6n * ETH },
    { account: bob.address, shares: 30n, cumulative: 3n * ETH },
  ]);
  return { alice, bob, tree };
}

describe('deposits', () => {
  test('behavior: deposit() and plain transfers both count as revenue', async () => {
    const [payer] = h.others;
    const viaDeposit = await h.deposit(2n * ETH, payer);
    const transferHash = await h.wallet(payer).sendTransaction({ to: h.distributor, value: 3n * ETH });
    const viaTransfer = await h.clients.publicClient.waitForTransactionReceipt({ hash: transferHash });

    const events = parseEventLogs({ abi: revenueDistributorAbi, eventName: 'RevenueDeposited', logs: [...viaDeposit.logs, ...viaTransfer.logs] });
    expect(events.map((e) => e.args)).toEqual([
      { from: payer.address, amount: 2n * ETH },
      { from: payer.address, amount: 3n * ETH },
    ]);
    const state = await readDistributorState(h.clients.publicClient, h.distributor);
    expect(state.totalDeposited).toBe(5n * ETH);
    expect(state.balance).toBe(5n * ETH);
  });
});

describe('claims', () => {
  test('behavior: a claim pays exactly the cumulative entitlement', async () => {
    const { alice, tree } = await epochOne();
    const before = await h.balance(alice.address);
    const receipt = await h.claim(tree.claimArgs(alice.address), alice);

    const gasCost = receipt.gasUsed * receipt.effectiveGasPrice;
    expect(await h.balance(alice.address)).toBe(before + 6n * ETH - gasCost);
    const [claimed] = parseEventLogs({ abi: revenueDistributorAbi, eventName: 'Claimed', logs: receipt.logs });
    expect(claimed.args).toEqual({ account: alice.address, amount: 6n * ETH, cumulative: 6n * ETH, epoch: 1n });
    expect(await h.claimed(alice.address)).toBe(6n * ETH);
    const state = await readDistributorState(h.clients.publicClient, h.distributor);
    expect(state.totalClaimed).toBe(6n * ETH);
    expect(state.balance).toBe(4n * ETH);
  });

  test('behavior: anyone may submit a claim, and the ETH goes to the account', async () => {
    const { bob, tree } = await epochOne();
    const relayer = h.others[5];
    const before = await h.balance(bob.address);
    await h.claim(tree.claimArgs(bob.address), relayer);
    expect(await h.balance(bob.address)).toBe(before + 3n * ETH);
  });

  test('behavior: a later epoch with a higher cumulative pays only the difference', async () => {
    const { alice, bob, tree } = await epochOne();
    await h.claim(tree.claimArgs(alice.address), alice);
    await h.deposit(5n * ETH);
    const tree2 = await h.publish(2n, [
      { account: alice.address, shares: 70n, cumulative: 9n * ETH },
      { account: bob.address, shares: 40n, cumulative: 5n * ETH },
    ]);
    const receipt = await h.claim(tree2.claimArgs(alice.address), alice);
    const [claimed] = parseEventLogs({ abi: revenueDistributorAbi, eventName: 'Claimed', logs: receipt.logs });
    expect(claimed.args).toEqual({ account: alice.address, amount: 3n * ETH, cumulative: 9n * ETH, epoch: 2n });
    expect(await h.claimed(alice.address)).toBe(9n * ETH);
  });

  test('error: a second claim of the same cumulative reverts NothingToClaim', async () => {
    const { alice, tree } = await epochOne();
    await h.claim(tree.claimArgs(alice.address), alice);
    expect(await revertOf(h.claim(tree.claimArgs(alice.address), alice))).toEqual({
      errorName: 'NothingToClaim',
      args: [alice.address, 6n * ETH, 6n * ETH],
    });
  });

  test('error: a wrong proof reverts InvalidProof', async () => {
    const { alice, tree } = await epochOne();
    const args = tree.claimArgs(alice.address);
    const tampered = { ...args, proof: [keccak256(args.proof[0])] };
    expect(await revertOf(h.claim(tampered, alice))).toEqual({ errorName: 'InvalidProof', args: [alice.address, 6n * ETH, 1n] });
    expect((await revertOf(h.claim({ ...args, proof: [] }, alice))).errorName).toBe('InvalidProof');
  });

  test("error: someone else's leaf values with one's own address revert InvalidProof", async () => {
    const { alice, bob, tree } = await epochOne();
    const bobs = tree.claimArgs(bob.address);
    expect((await revertOf(h.claim({ ...bobs, account: alice.address }, alice))).errorName).toBe('InvalidProof');
  });

  test('error: claiming more than the leaf says reverts InvalidProof', async () => {
    const { alice, tree } = await epochOne();
    const args = tree.claimArgs(alice.address);
    expect((await revertOf(h.claim({ ...args, cumulative: args.cumulative + 1n }, alice))).errorName).toBe('InvalidProof');
  });

  test('error: a claim before any root is published reverts InvalidProof', async () => {
    const [alice] = h.others;
    await h.deposit(ETH);
    const tree = h.tree([{ account: alice.address, shares: 1n, cumulative: ETH }]);
    expect(await revertOf(h.claim(tree.claimArgs(alice.address), alice))).toEqual({ errorName: 'InvalidProof', args: [alice.address, ETH, 0n] });
  });

  test("error: a proof built for another distributor's address reverts InvalidProof", async () => {
    const [alice] = h.others;
    const other = await deployRevenueDistributor(h.clients, { admin: h.admin.address, publisher: h.publisher.address });
    const foreign = entitlementTree(h.anvil.chainId, other, [{ account: alice.address, shares: 1n, cumulative: ETH }]);
    await h.deposit(ETH);
    await h.publishRoot(1n, foreign.root, foreign.totalCumulative);
    expect((await revertOf(h.claim(foreign.claimArgs(alice.address), alice))).errorName).toBe('InvalidProof');
  });

  test('error: leaves summing past the published totalCumulative revert ExceedsPublished once it is paid out', async () => {
    const [alice, bob] = h.others;
    await h.deposit(10n * ETH);
    const tree = h.tree([
      { account: alice.address, shares: 1n, cumulative: 6n * ETH },
      { account: bob.address, shares: 1n, cumulative: 3n * ETH },
    ]);
    await h.publishRoot(1n, tree.root, 7n * ETH); // a publisher bug: the leaves sum to 9 ETH
    await h.claim(tree.claimArgs(alice.address), alice);
    expect(await revertOf(h.claim(tree.claimArgs(bob.address), bob))).toEqual({ errorName: 'ExceedsPublished', args: [9n * ETH, 7n * ETH] });
  });
});

describe('publishing roots', () => {
  const someRoot = keccak256(toHex('some root'));

  test('behavior: publishing sets the epoch, root and totalCumulative and emits RootPublished', async () => {
    await h.deposit(ETH);
    const receipt = await h.publishRoot(1n, someRoot, ETH);
    const [published] = parseEventLogs({ abi: revenueDistributorAbi, eventName: 'RootPublished', logs: receipt.logs });
    expect(published.args).toEqual({ epoch: 1n, root: someRoot, totalCumulative: ETH });
    const state = await readDistributorState(h.clients.publicClient, h.distributor);
    expect([state.currentEpoch, state.root, state.totalCumulative]).toEqual([1n, someRoot, ETH]);
  });

  test('behavior: each publication moves the root it replaces to previousRoot', async () => {
    const roots = [1, 2, 3].map((i) => keccak256(toHex(`root ${i}`)));
    await h.deposit(ETH);
    const previous = [];
    for (const [i, root] of roots.entries()) {
      await h.publishRoot(BigInt(i + 1), root, ETH);
      const state = await readDistributorState(h.clients.publicClient, h.distributor);
      previous.push([state.root, state.previousRoot]);
    }
    expect(previous).toEqual([
      [roots[0], zeroHash],
      [roots[1], roots[0]],
      [roots[2], roots[1]],
    ]);
  });

  test('behavior: a fresh distributor is at epoch 0 with an empty root', async () => {
    const state = await readDistributorState(h.clients.publicClient, h.distributor);
    expect(state).toEqual({ currentEpoch: 0n, root: zeroHash, previousRoot: zeroHash, totalCumulative: 0n, totalDeposited: 0n, totalClaimed: 0n, balance: 0n });
  });

  test('error: a root for a skipped or repeated epoch reverts EpochNotNext', async () => {
    await h.deposit(ETH);
    expect(await revertOf(h.publishRoot(2n, someRoot, 0n))).toEqual({ errorName: 'EpochNotNext', args: [2n, 1n] });
    await h.publishRoot(1n, someRoot, 0n);
    expect(await revertOf(h.publishRoot(3n, someRoot, 0n))).toEqual({ errorName: 'EpochNotNext', args: [3n, 2n] });
    expect(await revertOf(h.publishRoot(1n, someRoot, 0n))).toEqual({ errorName: 'EpochNotNext', args: [1n, 2n] });
  });

  test('error: a root not covered by deposits reverts NotCovered', async () => {
    await h.deposit(ETH);
    expect(await revertOf(h.publishRoot(1n, someRoot, ETH + 1n))).toEqual({ errorName: 'NotCovered', args: [ETH + 1n, ETH] });
  });

  test('error: a root whose totalCumulative decreases reverts EntitlementDecreased', async () => {
    await h.deposit(2n * ETH);
    await h.publishRoot(1n, someRoot, 2n * ETH);
    expect(await revertOf(h.publishRoot(2n, someRoot, ETH))).toEqual({ errorName: 'EntitlementDecreased', args: [ETH, 2n * ETH] });
  });

  test('error: an account without PUBLISHER_ROLE cannot publish', async () => {
    const outsider = h.others[5];
    await h.deposit(ETH);
    expect(await revertOf(h.publishRoot(1n, someRoot, 0n, outsider))).toEqual({
      errorName: 'AccessControlUnauthorizedAccount',
      args: [outsider.address, PUBLISHER_ROLE],
    });
    expect(await revertOf(h.publishRoot(1n, someRoot, 0n, h.admin))).toMatchObject({ errorName: 'AccessControlUnauthorizedAccount' });
  });

  test('behavior: the admin can grant PUBLISHER_ROLE to a new publisher', async () => {
    const newcomer = h.others[5];
    await h.wallet(h.admin).writeContract({
      address: h.distributor,
      abi: revenueDistributorAbi,
      functionName: 'grantRole',
      args: [PUBLISHER_ROLE, newcomer.address],
    });
    await h.deposit(ETH);
    const receipt = await h.publishRoot(1n, someRoot, ETH, newcomer);
    expect(receipt.status).toBe('success');
  });

  test('error: deploying with a zero admin or publisher reverts ZeroAddress', async () => {
    const zero = '0x0000000000000000000000000000000000000000';
    expect((await revertOf(deployRevenueDistributor(h.clients, { admin: zero, publisher: h.publisher.address }))).errorName).toBe('ZeroAddress');
  });
});
