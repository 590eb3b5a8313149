import { describe, expect, test } from 'vitest';
import { keccak256, parseEventLogs, toHex, zeroAddress, type Hex } from 'viem';
import type { HDAccount } from 'viem/accounts';
import { readDistributorState } from '../src/distributor.ts';
import { revertErrorName } from '../src/errors.ts';
import { revenueDistributorAbi } from '../src/generated/artifacts.ts';
import { PaymentError, paidFor, payRequest, type PayRequestParameters } from '../src/payments.ts';
import { ETH, gasCost, minedRevert, useDistributorHarness } from './harness.ts';

const h = useDistributorHarness();
/** How long a quote in these tests stays open (s). */
const QUOTE_TTL_S = 600n;
/** Explicit gas, so a payment that will revert is sent and mined instead of refused by estimation. */
const PAY_GAS = 200_000n;

const requestId = (name: string): Hex => keccak256(toHex(`openshard request ${name}`));

async function latestTimestamp(): Promise<bigint> {
  return (await h.clients.publicClient.getBlock()).timestamp;
}

function pay(by: HDAccount, p: PayRequestParameters) {
  return payRequest({ walletClient: h.wallet(by), publicClient: h.clients.publicClient }, h.distributor, p);
}

/** Sends pay() without simulating it, mines it, and returns the receipt whatever its status. */
async function payMined(by: HDAccount, { requestId, deadline, value }: PayRequestParameters) {
  const hash = await h.wallet(by).writeContract({
    address: h.distributor,
    abi: revenueDistributorAbi,
    functionName: 'pay',
    args: [requestId, deadline],
    value,
    gas: PAY_GAS,
  });
  return h.clients.publicClient.waitForTransactionReceipt({ hash });
}

describe('pay', () => {
  test('behavior: a payment records amount and payer, emits RequestPaid and RevenueDeposited, and counts as revenue', async () => {
    const [customer] = h.others;
    const id = requestId('1');
    const deadline = (await latestTimestamp()) + QUOTE_TTL_S;
    expect(await paidFor(h.clients.publicClient, h.distributor, id)).toEqual({ amount: 0n, payer: zeroAddress });

    const result = await pay(customer, { requestId: id, deadline, value: ETH / 4n });

    expect(result.amount).toBe(ETH / 4n);
    expect(await paidFor(h.clients.publicClient, h.distributor, id)).toEqual({ amount: ETH / 4n, payer: customer.address });
    const receipt = await h.clients.publicClient.getTransactionReceipt({ hash: result.hash });
    const events = parseEventLogs({ abi: revenueDistributorAbi, logs: receipt.logs });
    expect(events.map((e) => [e.eventName, e.args])).toEqual([
      ['RequestPaid', { requestId: id, payer: customer.address, amount: ETH / 4n }],
      ['RevenueDeposited', { from: customer.address, amount: ETH / 4n }],
    ]);
    const state = await readDistributorState(h.clients.publicClient, h.distributor);
    expect([state.totalDeposited, state.balance]).toEqual([ETH / 4n, ETH / 4n]);
    expect(await paidFor(h.clients.publicClient, h.distributor, requestId('never paid'))).toEqual({ amount: 0n, payer: zeroAddress });
  });

  test('behavior: paid revenue enters the next epoch like a deposit, and its owners can claim it', async () => {
    const [customer, alice] = h.others;
    const deadline = (await latestTimestamp()) + QUOTE_TTL_S;
    await h.deposit(ETH);
    await pay(customer, { requestId: requestId('a'), deadline, value: 2n * ETH });
    await pay(customer, { requestId: requestId('b'), deadline, value: 3n * ETH });
    // NotCovered would refuse 6 ETH if the payments were not counted.
    const tree = await h.publish(1n, [{ account: alice.address, shares: 1n, cumulative: 6n * ETH }]);
    const before = await h.balance(alice.address);
    await h.claim(tree.claimArgs(alice.address), h.others[5]);
    expect(await h.balance(alice.address)).toBe(before + 6n * ETH);
  });

  test('error: paying an address without code throws PaymentError and sends nothing', async () => {
    const [customer, notADistributor] = h.others;
    const deadline = (await latestTimestamp()) + QUOTE_TTL_S;
    const nonce = await h.clients.publicClient.getTransactionCount({ address: customer.address });
    const client = { walletClient: h.wallet(customer), publicClient: h.clients.publicClient };
    const error = await payRequest(client, notADistributor.address, { requestId: requestId('lost'), deadline, value: ETH }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PaymentError);
    expect(String(error)).toContain(`no contract at ${notADistributor.address}`);
    expect(await h.clients.publicClient.getTransactionCount({ address: customer.address })).toBe(nonce);
  });

  test("behavior: a payment mined in its deadline's own second is accepted", async () => {
    const [customer] = h.others;
    const deadline = (await latestTimestamp()) + QUOTE_TTL_S;
    await h.clients.testClient.setNextBlockTimestamp({ timestamp: deadline });
    const receipt = await payMined(customer, { requestId: requestId('on time'), deadline, value: ETH });
    expect(receipt.status).toBe('success');
    expect((await h.clients.publicClient.getBlock({ blockNumber: receipt.blockNumber })).timestamp).toBe(deadline);
  });

  test('error: a payment mined after its deadline reverts QuoteExpired(deadline, now), records nothing and costs only gas', async () => {
    const [customer] = h.others;
    const id = requestId('late');
    const deadline = (await latestTimestamp()) + QUOTE_TTL_S;
    const before = await h.balance(customer.address);
    await h.clients.testClient.setNextBlockTimestamp({ timestamp: deadline + 1n });

    const receipt = await payMined(customer, { requestId: id, deadline, value: ETH });

    expect(receipt.status).toBe('reverted');
    expect(await minedRevert(h.anvil.rpcUrl, receipt.transactionHash)).toEqual({ errorName: 'QuoteExpired', args: [deadline, deadline + 1n] });
    expect(await h.balance(customer.address)).toBe(before - gasCost(receipt));
    expect(await paidFor(h.clients.publicClient, h.distributor, id)).toEqual({ amount: 0n, payer: zeroAddress });
    expect((await readDistributorState(h.clients.publicClient, h.distributor)).totalDeposited).toBe(0n);
    // payRequest simulates first: the same refusal, before any transaction is sent.
    const nonce = await h.clients.publicClient.getTransactionCount({ address: customer.address });
    const refused = await pay(customer, { requestId: id, deadline, value: ETH }).catch((e: unknown) => e);
    expect(revertErrorName(refused)).toBe('QuoteExpired');
    expect(await h.clients.publicClient.getTransactionCount({ address: customer.address })).toBe(nonce);
  });

  test('error: a payment of 0 wei reverts ZeroPayment and records nothing', async () => {
    const [customer] = h.others;
    const id = requestId('free');
    const deadline = (await latestTimestamp()) + QUOTE_TTL_S;
    const before = await h.balance(customer.address);

    const receipt = await payMined(customer, { requestId: id, deadline, value: 0n });

    expect(receipt.status).toBe('reverted');
    expect(await minedRevert(h.anvil.rpcUrl, receipt.transactionHash)).toEqual({ errorName: 'ZeroPayment', args: [] });
    expect(await h.balance(customer.address)).toBe(before - gasCost(receipt));
    expect(await paidFor(h.clients.publicClient, h.distributor, id)).toEqual({ amount: 0n, payer: zeroAddress });
    expect(revertErrorName(await pay(customer, { requestId: id, deadline, value: 0n }).catch((e: unknown) => e))).toBe('ZeroPayment');
  });

  test('error: paying a request id again reverts AlreadyPaid(requestId), keeps the first payment and costs only gas', async () => {
    const [first, second] = h.others;
    const id = requestId('twice');
    const deadline = (await latestTimestamp()) + QUOTE_TTL_S;
    await pay(first, { requestId: id, deadline, value: ETH });

    for (const by of [first, second]) {
      const before = await h.balance(by.address);
      const receipt = await payMined(by, { requestId: id, deadline, value: 2n * ETH });
      expect(receipt.status).toBe('reverted');
      expect(await minedRevert(h.anvil.rpcUrl, receipt.transactionHash)).toEqual({ errorName: 'AlreadyPaid', args: [id] });
      expect(await h.balance(by.address)).toBe(before - gasCost(receipt));
    }

    expect(revertErrorName(await pay(second, { requestId: id, deadline, value: ETH }).catch((e: unknown) => e))).toBe('AlreadyPaid');
    expect(await paidFor(h.clients.publicClient, h.distributor, id)).toEqual({ amount: ETH, payer: first.address });
    const state = await readDistributorState(h.clients.publicClient, h.distributor);
    expect([state.totalDeposited, state.balance]).toEqual([ETH, ETH]);
  });
});
