import { describe, expect, test } from 'vitest';
import { decodeErrorResult, getAddress, keccak256, parseEventLogs, toHex, type Abi, type Address, type Hex } from 'viem';
import { deployedAddress } from '../src/deploy.ts';
import { readDistributorState } from '../src/distributor.ts';
import { reentrantReceiverAbi, reentrantReceiverBytecode, rejectingReceiverAbi, rejectingReceiverBytecode, revenueDistributorAbi } from '../src/generated/artifacts.ts';
import { seededRandom, splitProRata, type EntitlementTree } from './fixtures.ts';
import { ETH, revertOf, useDistributorHarness } from './harness.ts';

const h = useDistributorHarness();
const RANDOM_SEED = 20_240_601;
const RANDOM_STEPS = 60;
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
  test('behavior: a claim with an epoch-1 proof mined after the epoch-2 root reverts, and the epoch-2 proof then pays', async () => {
    const [alice, bob] = h.others;
    const { publicClient, testClient } = h.clients;
    await h.deposit(10n * ETH);
    const tree1 = await h.publish(1n, [
      { account: alice.address, shares: 1n, cumulative: 4n * ETH },
      { account: bob.address, shares: 1n, cumulative: 4n * ETH },
    ]);
    const tree2 = h.tree([
      { account: alice.address, shares: 2n, cumulative: 6n * ETH },
      { account: bob.address, shares: 1n, cumulative: 4n * ETH },
    ]);

    // Both wait in the mempool; the publisher's higher tip puts the new root first in the block.
    await testClient.setAutomine(false);
    let publishHash: Hex;
    let claimHash: Hex;
    try {
      publishHash = await h.wallet(h.publisher).writeContract({
        address: h.distributor,
        abi: revenueDistributorAbi,
        functionName: 'publishRoot',
        args: [2n, tree2.root, tree2.totalCumulative],
        gas: RACE_GAS,
        maxFeePerGas: RACE_MAX_FEE,
        maxPriorityFeePerGas: 2n * GWEI,
      });
      const stale = tree1.claimArgs(alice.address);
      claimHash = await h.wallet(alice).writeContract({
        address: h.distributor,
        abi: revenueDistributorAbi,
        functionName: 'claim',
        args: [stale.account, stale.shares, stale.cumulative, stale.proof],
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
    expect(raced.status).toBe('reverted');
    expect(await minedRevert(claimHash)).toEqual({ errorName: 'InvalidProof', args: [alice.address, 4n * ETH, 2n] });

    const before = await h.balance(alice.address);
    await h.claim(tree2.claimArgs(alice.address), h.others[5]);
    expect(await h.balance(alice.address)).toBe(before + 6n * ETH);
  });
});

describe('invariants', () => {
  test('behavior: after random deposits, publications and claims, totalClaimed <= totalDeposited and the balance holds the rest', async () => {
    const random = seededRandom(RANDOM_SEED);
    const amount = (maxEth: number) => (BigInt(Math.floor(random() * maxEth * 1000) + 1) * ETH) / 1000n;
    const relayer = h.others[7];
    const generated = [1, 2, 3].map((i) => getAddress(keccak256(toHex(`holder ${i}`)).slice(0, 42)));
    const holders = [...h.others.slice(0, 3).map((a) => a.address), ...generated];
    const shares = holders.map(() => 0n);
    const cumulative = holders.map(() => 0n);
    const paid = holders.map(() => 0n);
    let deposited = 0n;
    let epoch = 0n;
    let tree: EntitlementTree | undefined;
    const counts = { deposit: 0, publish: 0, claim: 0, nothing: 0 };

    for (let step = 0; step < RANDOM_STEPS; step++) {
      const roll = random();
      if (roll < 0.3) {
        const value = amount(5);
        await h.deposit(value);
        deposited += value;
        counts.deposit++;
      } else if (roll < 0.55) {
        // New work raises shares; revenue not yet in any root is split pro rata, rounding down.
        for (let i = 0; i < holders.length; i++) shares[i] += BigInt(Math.floor(random() * 50));
        const unassigned = deposited - cumulative.reduce((a, b) => a + b, 0n);
        splitProRata(unassigned, shares).forEach((part, i) => (cumulative[i] += part));
        epoch++;
        tree = await h.publish(
          epoch,
          holders.map((account, i) => ({ account, shares: shares[i], cumulative: cumulative[i] })),
        );
        counts.publish++;
      } else if (tree) {
        const i = Math.floor(random() * holders.length);
        const before = await h.balance(holders[i]);
        if (cumulative[i] === paid[i]) {
          expect((await revertOf(h.claim(tree.claimArgs(holders[i]), relayer))).errorName).toBe('NothingToClaim');
          counts.nothing++;
        } else {
          await h.claim(tree.claimArgs(holders[i]), relayer);
          expect(await h.balance(holders[i])).toBe(before + cumulative[i] - paid[i]);
          paid[i] = cumulative[i];
          counts.claim++;
        }
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

/** The custom error a mined, reverted transaction hit, replayed by anvil's call tracer. */
async function minedRevert(hash: Hex) {
  const response = await fetch(h.anvil.rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'debug_traceTransaction', params: [hash, { tracer: 'callTracer' }] }),
  });
  const { result } = (await response.json()) as { result: { output: Hex } };
  const decoded = decodeErrorResult({ abi: revenueDistributorAbi, data: result.output });
  return { errorName: decoded.errorName, args: decoded.args ?? [] };
}
