import { describe, expect, test } from 'vitest';
import { decodeErrorResult, getAddress, keccak256, parseEventLogs, toHex, type Abi, type Address, type Hex } from 'viem';
import { deployedAddress } from '../src/deploy.ts';
import { readDistributorState } from '../src/distributor.ts';
import { payRequest } from '../src/payments.ts';
import { reentrantReceiverAbi, reentrantReceiverBytecode, rejectingReceiverAbi, rejectingReceiverBytecode, revenueDistributorAbi } from '../src/generated/artifacts.ts';
import { seededRandom, splitProRata, type EntitlementTree } from './fixtures.ts';
import { ETH, revertOf, useDistributorHarness } from './harness.ts';

const h = useDistributorHarness();
const RANDOM_SEED = 20_240_601;
const RANDOM_STEPS = 80;
/** How long a quote stays open in the random sequence (s). */
const QUOTE_TTL_S = 600n;
/** Explicit gas for transactions sent while automine is off, so nothing is estimated early. */
const RACE_GAS = 300_000n;
const GWEI = 10n ** 9n;
const RACE_MAX_FEE = 100n * GWEI;

async function deployTestContract(abi: Abi, bytecode: Hex, name: string): Promise<Address> {
  const hash = await h.wallet(h.admin).deployContract({ abi, bytecode });
  return deployedAddress(h.clients.publicClient, hash, name);
}

describe('payouts', () => {
  test('behavior: a receiver re-entering claim from receive() is refused, and paid once', async () => {
    const [alice] = h.others;
    const receiver = await deployTestContract(reentrantReceiverAbi, reentrantReceiverBytecode, 'ReentrantReceiver');
    await h.deposit(5n * ETH);
    const tree = await h.publish(1n, [
      { account: receiver, shares: 1n, cumulative: 2n * ETH },
      { account: alice.address, shares: 1n, cumulative: 2n * ETH },
    ]);
    const args = tree.claimArgs(receiver);
    await h.wallet(h.admin).writeContract({
      address: receiver,
      abi: reentrantReceiverAbi,
      functionName: 'arm',
      args: [h.distributor, args.shares, args.cumulative, args.proof],
    });

    const receipt = await h.claim(args, alice);

    const read = <F extends 'reentryAttempts' | 'reentrySucceeded' | 'reentryRevertData' | 'received'>(functionName: F) =>
      h.clients.publicClient.readContract({ address: receiver, abi: reentrantReceiverAbi, functionName });
    expect(await read('reentryAttempts')).toBe(1n);
    expect(await read('reentrySucceeded')).toBe(false);
    const reentry = decodeErrorResult({ abi: revenueDistributorAbi, data: await read('reentryRevertData') });
    expect(reentry.errorName).toBe('ReentrancyGuardReentrantCall');
    expect(await read('received')).toBe(2n * ETH);
    expect(await h.balance(receiver)).toBe(2n * ETH);
    expect(parseEventLogs({ abi: revenueDistributorAbi, eventName: 'Claimed', logs: receipt.logs })).toHaveLength(1);
    const state = await readDistributorState(h.clients.publicClient, h.distributor);
    expect([state.totalClaimed, state.balance]).toEqual([2n * ETH, 3n * ETH]);
  });

  test('error: a payout the account refuses reverts TransferFailed and records nothing', async () => {
    const [alice] = h.others;
    const rejecter = await deployTestContract(rejectingReceiverAbi, rejectingReceiverBytecode, 'RejectingReceiver');
    await h.deposit(5n * ETH);
    const tree = await h.publish(1n, [{ account: rejecter, shares: 1n, cumulative: 2n * ETH }]);
    expect(await revertOf(h.claim(tree.claimArgs(rejecter), alice))).toEqual({ errorName: 'TransferFailed', args: [rejecter, 2n * ETH] });
    expect(await h.claimed(rejecter)).toBe(0n);
    expect((await readDistributorState(h.clients.publicClient, h.distributor)).totalClaimed).toBe(0n);
  });
});

describe('epochs', () => {
  /**
   * Epoch 1: alice 2, bob 2 (alice claims her 2). Epoch 2 (N): alice 5, bob 4. Epoch 3 (N + 1):
   * alice 7, bob 5. 12 ETH deposited; the chain is left at epoch 2 with alice's claim paid.
   */
  async function threeEpochs() {
    const [alice, bob] = h.others;
    await h.deposit(12n * ETH);
    const tree1 = await h.publish(1n, [
      { account: alice.address, shares: 1n, cumulative: 2n * ETH },
      { account: bob.address, shares: 1n, cumulative: 2n * ETH },
    ]);
    await h.claim(tree1.claimArgs(alice.address), alice);
    const tree2 = await h.publish(2n, [
      { account: alice.address, shares: 2n, cumulative: 5n * ETH },
      { account: bob.address, shares: 1n, cumulative: 4n * ETH },
    ]);
    const tree3 = h.tree([
      { account: alice.address, shares: 3n, cumulative: 7n * ETH },
      { account: bob.address, shares: 1n, cumulative: 5n * ETH },
    ]);
    return { alice, bob, tree1, tree2, tree3 };
  }

  async function expectSolvent() {
    const state = await readDistributorState(h.clients.publicClient, h.distributor);
    expect(state.totalClaimed).toBeLessThanOrEqual(state.totalCumulative);
    expect(state.totalCumulative).toBeLessThanOrEqual(state.totalDeposited);
    expect(state.balance).toBe(state.totalDeposited - state.totalClaimed);
    return state;
  }

  test('behavior: a claim with an epoch-N proof mined after the epoch-N+1 root pays cumulative_N − claimed, and the N+1 proof then pays the rest', async () => {
    const { alice, tree2, tree3 } = await threeEpochs();
    const { publicClient, testClient } = h.clients;
    const before = await h.balance(alice.address);

    // Both wait in the mempool; the publisher's higher tip puts the new root first in the block.
    await testClient.setAutomine(false);
    let publishHash: Hex;
    let claimHash: Hex;
    try {
      publishHash = await h.wallet(h.publisher).writeContract({
        address: h.distributor,
        abi: revenueDistributorAbi,
        functionName: 'publishRoot',
        args: [3n, tree3.root, tree3.totalCumulative],
        gas: RACE_GAS,
        maxFeePerGas: RACE_MAX_FEE,
        maxPriorityFeePerGas: 2n * GWEI,
      });
      const older = tree2.claimArgs(alice.address);
      claimHash = await h.wallet(h.others[5]).writeContract({
        address: h.distributor,
        abi: revenueDistributorAbi,
        functionName: 'claim',
        args: [older.account, older.shares, older.cumulative, older.proof],
        gas: RACE_GAS,
        maxFeePerGas: RACE_MAX_FEE,
        maxPriorityFeePerGas: GWEI,
      });
      await testClient.mine({ blocks: 1 });
    } finally {
      await testClient.setAutomine(true);
    }

    const published = await publicClient.waitForTransactionReceipt({ hash: publishHash });
    const raced = await publicClient.waitForTransactionReceipt({ hash: claimHash });
    expect(published.status).toBe('success');
    expect([raced.blockNumber, raced.transactionIndex]).toEqual([published.blockNumber, published.transactionIndex + 1]);
    expect(raced.status).toBe('success');
    const [racedClaim] = parseEventLogs({ abi: revenueDistributorAbi, eventName: 'Claimed', logs: raced.logs });
    expect(racedClaim.args).toEqual({ account: alice.address, amount: 3n * ETH, cumulative: 5n * ETH, epoch: 2n });
    expect(await h.balance(alice.address)).toBe(before + 3n * ETH);
    expect(await h.claimed(alice.address)).toBe(5n * ETH);
    const state = await expectSolvent();
    expect([state.currentEpoch, state.root, state.previousRoot, state.totalClaimed]).toEqual([3n, tree3.root, tree2.root, 5n * ETH]);

    const rest = await h.claim(tree3.claimArgs(alice.address), h.others[5]);
    const [restClaim] = parseEventLogs({ abi: revenueDistributorAbi, eventName: 'Claimed', logs: rest.logs });
    expect(restClaim.args).toEqual({ account: alice.address, amount: 2n * ETH, cumulative: 7n * ETH, epoch: 3n });
    expect(await h.balance(alice.address)).toBe(before + 5n * ETH);
    expect((await expectSolvent()).totalClaimed).toBe(7n * ETH);
  });

  test('error: a proof two roots old reverts InvalidProof, even for an account still owed that much', async () => {
    const { alice, bob, tree1, tree2, tree3 } = await threeEpochs();
    await h.publishRoot(3n, tree3.root, tree3.totalCumulative);

    // Bob has claimed nothing; epoch 1's root is gone, epoch 2's is still accepted.
    expect(await revertOf(h.claim(tree1.claimArgs(bob.address), bob))).toEqual({ errorName: 'InvalidProof', args: [bob.address, 2n * ETH, 3n] });
    expect(await revertOf(h.claim(tree1.claimArgs(alice.address), alice))).toEqual({ errorName: 'InvalidProof', args: [alice.address, 2n * ETH, 3n] });
    const before = await h.balance(bob.address);
    await h.claim(tree2.claimArgs(bob.address), h.others[5]);
    await h.claim(tree3.claimArgs(bob.address), h.others[5]);
    expect(await h.balance(bob.address)).toBe(before + 5n * ETH);
    expect((await expectSolvent()).totalClaimed).toBe(2n * ETH + 5n * ETH);
  });

  test('error: after a claim with the newer proof, the older proof reverts NothingToClaim and pays nothing more', async () => {
    const { alice, tree2, tree3 } = await threeEpochs();
    await h.publishRoot(3n, tree3.root, tree3.totalCumulative);
    await h.claim(tree3.claimArgs(alice.address), alice);
    expect(await revertOf(h.claim(tree2.claimArgs(alice.address), alice))).toEqual({
      errorName: 'NothingToClaim',
      args: [alice.address, 5n * ETH, 7n * ETH],
    });
    expect((await expectSolvent()).totalClaimed).toBe(7n * ETH);
  });
});

describe('invariants', () => {
  test('behavior: after random deposits, payments, publications and claims against either accepted root, totalClaimed <= totalDeposited and the balance holds the rest', async () => {
    const random = seededRandom(RANDOM_SEED);
    const amount = (maxEth: number) => (BigInt(Math.floor(random() * maxEth * 1000) + 1) * ETH) / 1000n;
    const relayer = h.others[7];
    const customer = h.others[6];
    const generated = [1, 2, 3].map((i) => getAddress(keccak256(toHex(`holder ${i}`)).slice(0, 42)));
    const holders = [...h.others.slice(0, 3).map((a) => a.address), ...generated];
    const shares = holders.map(() => 0n);
    const cumulative = holders.map(() => 0n);
    const paid = holders.map(() => 0n);
    let deposited = 0n;
    let epoch = 0n;
    /** Published trees and the cumulative entitlements in each, newest last. */
    const published: { tree: EntitlementTree; cumulative: bigint[] }[] = [];
    const counts = { deposit: 0, pay: 0, publish: 0, claim: 0, claimPrevious: 0, nothing: 0, twoBack: 0 };

    for (let step = 0; step < RANDOM_STEPS; step++) {
      const roll = random();
      if (roll < 0.15) {
        const value = amount(5);
        await h.deposit(value);
        deposited += value;
        counts.deposit++;
      } else if (roll < 0.3) {
        const value = amount(2);
        const deadline = (await h.clients.publicClient.getBlock()).timestamp + QUOTE_TTL_S;
        const requestId = keccak256(toHex(`random request ${step}`));
        await payRequest({ walletClient: h.wallet(customer), publicClient: h.clients.publicClient }, h.distributor, { requestId, deadline, value });
        deposited += value;
        counts.pay++;
      } else if (roll < 0.5) {
        // New work raises shares; revenue not yet in any root is split pro rata, rounding down.
        for (let i = 0; i < holders.length; i++) shares[i] += BigInt(Math.floor(random() * 50));
        const unassigned = deposited - cumulative.reduce((a, b) => a + b, 0n);
        splitProRata(unassigned, shares).forEach((part, i) => (cumulative[i] += part));
        epoch++;
        const tree = await h.publish(
          epoch,
          holders.map((account, i) => ({ account, shares: shares[i], cumulative: cumulative[i] })),
        );
        published.push({ tree, cumulative: [...cumulative] });
        counts.publish++;
      } else if (published.length > 0) {
        // Which root the claimant's proof comes from: the current one, the previous one, or one two back.
        const back = Math.min(Math.floor(random() * 3), published.length - 1);
        const { tree, cumulative: owed } = published[published.length - 1 - back];
        const i = Math.floor(random() * holders.length);
        const before = await h.balance(holders[i]);
        if (back === 2) {
          expect((await revertOf(h.claim(tree.claimArgs(holders[i]), relayer))).errorName).toBe('InvalidProof');
          counts.twoBack++;
        } else if (owed[i] <= paid[i]) {
          expect((await revertOf(h.claim(tree.claimArgs(holders[i]), relayer))).errorName).toBe('NothingToClaim');
          counts.nothing++;
        } else {
          await h.claim(tree.claimArgs(holders[i]), relayer);
          expect(await h.balance(holders[i])).toBe(before + owed[i] - paid[i]);
          paid[i] = owed[i];
          counts[back === 0 ? 'claim' : 'claimPrevious']++;
        }
        expect(paid[i]).toBeLessThanOrEqual(cumulative[i]);
      }
      const state = await readDistributorState(h.clients.publicClient, h.distributor);
      expect(state.totalClaimed).toBeLessThanOrEqual(state.totalCumulative);
      expect(state.totalCumulative).toBeLessThanOrEqual(state.totalDeposited);
      expect(state.balance).toBe(state.totalDeposited - state.totalClaimed);
      expect([state.totalDeposited, state.totalClaimed]).toEqual([deposited, paid.reduce((a, b) => a + b, 0n)]);
    }
    // The seed exercises every branch.
    expect(
      Object.values(counts).every((n) => n > 0),
      JSON.stringify(counts),
    ).toBe(true);
  });
});
