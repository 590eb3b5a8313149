import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { deployRevenueDistributor, payRequest } from '@openshard/contracts';
import { createLocalClients, startAnvil, type Anvil } from '@openshard/contracts/node';
import OpenAI from 'openai';
import { toHex, type Address, type Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { paymentChain } from '../src/inference/serving.ts';
import { distributorChain } from '../src/ownership/distributor-chain.ts';
import { DEFAULT_PAYMENTS, PaymentGate, type PaymentRefusal } from '../src/payments/payment-gate.ts';
import { DEFAULT_COORDINATOR, startCoordinator, type RunningCoordinator } from '../src/start-coordinator.ts';
import { openSqliteStores } from '../src/store/sqlite/open-sqlite-stores.ts';
import type { Stores } from '../src/store/stores.ts';
import { trainedCheckpoint } from '../../../packages/trainer/test/support/served-checkpoint.ts';

const PRICE = 10n ** 12n;
const MODEL = 'openshard-micro';

let anvil: Anvil;
let distributor: Address;
let elsewhere: Address;
let network: RunningCoordinator;
let client: OpenAI;
let checkpoint: string;
const dirs: string[] = [];
const opened: Stores[] = [];

beforeAll(async () => {
  checkpoint = await trainedCheckpoint();
  anvil = await startAnvil();
  const [admin, publisher] = anvil.accounts;
  const adminClients = createLocalClients(anvil, admin);
  distributor = await deployRevenueDistributor(adminClients, { admin: admin.address, publisher: publisher.address });
  // a second deployment: paying there is paying for nothing this coordinator sells
  elsewhere = await deployRevenueDistributor(adminClients, { admin: admin.address, publisher: publisher.address });
  const dataDir = mkdtempSync(join(tmpdir(), 'openshard-pay-'));
  dirs.push(dataDir, dirname(dirname(checkpoint)));
  network = await startCoordinator({
    ...DEFAULT_COORDINATOR,
    preset: 'micro',
    shards: 2,
    rounds: 1,
    port: 0,
    dataDir,
    evalBatches: 1,
    serveCheckpoint: checkpoint,
    chainId: anvil.chainId,
    chain: { rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, distributor, publisherKey: toHex(publisher.getHdKey().privateKey!) },
    payments: { ...DEFAULT_PAYMENTS, pricePerToken: PRICE },
  });
  client = new OpenAI({ baseURL: `${network.server.url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
}, 90_000);

afterAll(async () => {
  await network?.close();
  for (const s of opened) await s.close();
  await anvil?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Quote {
  x402Version: number;
  error: { code: string; message: string };
  accepts: { scheme: string; network: string; amount: string; payTo: string; extra: { requestId: Hex; deadline: number; tokens: number } }[];
}

/** The 402's body, as an x402 client reads it: from the `payment-required` header. */
async function quoteOf(request: Promise<unknown>): Promise<Quote> {
  const e = (await request.then(
    () => null,
    (err: unknown) => err,
  )) as InstanceType<typeof OpenAI.APIError> | null;
  expect(e, 'the request should have been refused with 402').toBeInstanceOf(OpenAI.APIError);
  expect(e!.status).toBe(402);
  return JSON.parse(atob(e!.headers!.get('payment-required')!)) as Quote;
}

const payer = () => createLocalClients(anvil, anvil.accounts[5]);
const pay = (q: Quote, value = BigInt(q.accepts[0].amount), to: Address = distributor) =>
  payRequest(payer(), to, { requestId: q.accepts[0].extra.requestId, deadline: BigInt(q.accepts[0].extra.deadline), value });
const body = (max_tokens = 8) => ({ model: MODEL, prompt: 'It was ', max_tokens, temperature: 0 });
const paidWith = (q: Quote) => ({ headers: { 'x-payment-id': q.accepts[0].extra.requestId } });

describe('paid inference (anvil, the RevenueDistributor, the openai client)', () => {
  test('behavior: an unpaid request gets an x402-shaped quote; paid on chain with its request id it is served once, and the distributor holds exactly the price as revenue', async () => {
    const { publicClient } = payer();
    const q = await quoteOf(client.completions.create(body()));
    expect(q).toMatchObject({ x402Version: 2, error: { code: 'payment_required' } });
    expect(q.accepts[0]).toMatchObject({ scheme: 'exact-native', network: `eip155:${anvil.chainId}`, payTo: distributor, amount: String(15n * PRICE) });
    expect(q.accepts[0].extra.tokens).toBe(7 + 8);
    const before = await publicClient.getBalance({ address: distributor });
    await pay(q);
    expect((await publicClient.getBalance({ address: distributor })) - before).toBe(15n * PRICE);
    expect(await distributorChain({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, distributor, publisherKey: toHex(anvil.accounts[1].getHdKey().privateKey!) }).totalDeposited()).toBe(15n * PRICE);

    const served = await client.completions.create(body(), paidWith(q));
    expect(served.usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 8 });
    expect(served.choices[0].text.length).toBeGreaterThan(0);
    const replay = await quoteOf(client.completions.create(body(), paidWith(q)));
    expect(replay.error.code).toBe('payment_already_used');
    expect(replay.accepts[0].extra.requestId).not.toBe(q.accepts[0].extra.requestId);

    // streamed, the same way: a fresh quote, paid, then the text arrives in pieces and ends
    const sq = await quoteOf(client.completions.create({ ...body(), stream: true }));
    await pay(sq);
    let text = '';
    for await (const c of await client.completions.create({ ...body(), stream: true }, paidWith(sq))) text += c.choices[0].text;
    expect(text).toBe(served.choices[0].text);
  });

  test('error: not paid yet, paid too little, paid at another contract or on another chain, a quote for a smaller request, a malformed or unknown id, and two requests racing on one payment are refused with what to do', async () => {
    const unpaid = await quoteOf(client.completions.create(body()));
    const notYet = await quoteOf(client.completions.create(body(), paidWith(unpaid)));
    expect(notYet.error.code).toBe('payment_not_found');
    expect(notYet.error.message).toContain(`pay it with pay(bytes32 requestId, uint256 deadline) on the distributor ${distributor}`);
    expect(notYet.accepts[0].extra.requestId).toBe(unpaid.accepts[0].extra.requestId);

    await pay(unpaid, BigInt(unpaid.accepts[0].amount) - 1n);
    const short = await quoteOf(client.completions.create(body(), paidWith(unpaid)));
    expect(short.error).toMatchObject({ code: 'payment_insufficient' });
    expect(short.error.message).toContain(`below its quote of ${unpaid.accepts[0].amount} wei`);

    const misdirected = await quoteOf(client.completions.create(body()));
    await pay(misdirected, BigInt(misdirected.accepts[0].amount), elsewhere);
    expect((await quoteOf(client.completions.create(body(), paidWith(misdirected)))).error.code).toBe('payment_not_found');

    // the same distributor, deployed on another chain (chain id 31338), paid there: nothing is paid here
    const other = await startAnvil({ chainId: 31338 });
    try {
      const [admin, publisher, payerThere] = other.accounts;
      const there = await deployRevenueDistributor(createLocalClients(other, admin), { admin: admin.address, publisher: publisher.address });
      const wrongChain = await quoteOf(client.completions.create(body()));
      const { requestId, deadline } = wrongChain.accepts[0].extra;
      await payRequest(createLocalClients(other, payerThere), there, { requestId, deadline: BigInt(deadline), value: BigInt(wrongChain.accepts[0].amount) });
      const refused = await quoteOf(client.completions.create(body(), paidWith(wrongChain)));
      expect(refused.error.code).toBe('payment_not_found');
      expect(refused.error.message).toContain(`on chain eip155:${anvil.chainId} at ${distributor}`);
    } finally {
      await other.stop();
    }

    const small = await quoteOf(client.completions.create(body(2)));
    await pay(small);
    const bigger = await quoteOf(client.completions.create(body(8), paidWith(small)));
    expect(bigger.error).toMatchObject({ code: 'quote_mismatch' });
    expect(bigger.error.message).toContain('was quoted for 9 tokens of openshard-micro; this request is 15 tokens');

    expect((await quoteOf(client.completions.create(body(), { headers: { 'x-payment-id': 'abc' } }))).error.code).toBe('invalid_payment_id');
    expect((await quoteOf(client.completions.create(body(), { headers: { 'x-payment-id': toHex(1n, { size: 32 }) } }))).error.code).toBe('unknown_request_id');

    const raced = await quoteOf(client.completions.create(body()));
    await pay(raced);
    const outcomes = await Promise.allSettled([client.completions.create(body(), paidWith(raced)), client.completions.create(body(), paidWith(raced))]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const refused = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect([402, 409]).toContain((refused.reason as InstanceType<typeof OpenAI.APIError>).status);
  });

  test('behavior: an unpaid quote expires (the chain refuses payment after its deadline as well); a paid one stays good after it; a failed generation keeps the payment for a retry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'openshard-gate-'));
    dirs.push(dir);
    const stores = await openSqliteStores(join(dir, 'openshard.sqlite'));
    opened.push(stores);
    let now = Date.now();
    const chain = paymentChain(distributorChain({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, distributor, publisherKey: toHex(anvil.accounts[1].getHdKey().privateKey!) }));
    const gate = new PaymentGate(stores.payments, chain, { ...DEFAULT_PAYMENTS, pricePerToken: PRICE, quoteTtlMs: 60_000 }, () => now);
    const refusal = (p: Promise<unknown>) =>
      p.then(
        () => null,
        (e: unknown) => e as PaymentRefusal,
      );

    const lapsed = (await refusal(gate.admit(MODEL, 10, undefined)))!.quote!;
    now += 61_000;
    expect(await refusal(gate.admit(MODEL, 10, lapsed.requestId))).toMatchObject({ code: 'quote_expired' });

    const paid = (await refusal(gate.admit(MODEL, 10, undefined)))!.quote!;
    await payRequest(payer(), distributor, { requestId: paid.requestId, deadline: BigInt(Math.floor(paid.expiresAt / 1000)), value: paid.amount });
    now += 61_000;
    const first = await gate.admit(MODEL, 10, paid.requestId);
    expect(first.paid).toBe(paid.amount);
    await first.failed();
    const retry = await gate.admit(MODEL, 10, paid.requestId);
    await retry.served(10);
    expect(await refusal(gate.admit(MODEL, 10, paid.requestId))).toMatchObject({ code: 'payment_already_used' });
    expect(await stores.payments.quote(paid.requestId)).toMatchObject({ state: 'served', paid: paid.amount, completionTokens: 10 });
  });
});
