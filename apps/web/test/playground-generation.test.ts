import { UserRejectedRequestError } from 'viem';
import { describe, expect, test } from 'vitest';
import type { CompletionRequest } from '../src/playground/completion-request.ts';
import { generate, PAYMENT_SEEN_ATTEMPTS, type GenerationDeps, type GenerationInput } from '../src/playground/generation.ts';
import type { PaymentQuote } from '../src/playground/quote.ts';
import { runReducer, startRun, type Payment, type Run, type RunEvent } from '../src/playground/run.ts';

/**
 * The "Pay and generate" flow against a scripted coordinator: each POST is answered by the next
 * response in the script; the wallet is a function that records what it paid.
 */
const DISTRIBUTOR = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const REQUEST_ID = `0x${'ab'.repeat(32)}` as const;
const NOW = Date.UTC(2026, 0, 1);
const REQUEST: CompletionRequest = { model: 'openshard-micro', prompt: 'It was', max_tokens: 8, temperature: 0, top_p: 1, top_k: 0, stream: true };
const INPUT: GenerationInput = { url: 'http://coordinator', request: REQUEST, tokens: 14, maxWei: 10n ** 16n, payment: null };
const AMOUNT = 14_000_000_000_000n;

const chunk = (text: string, finish: string | null = null) => `data: ${JSON.stringify({ object: 'text_completion', choices: [{ index: 0, text, logprobs: null, finish_reason: finish }] })}\n\n`;
const sse = (...events: string[]) =>
  new Response(
    new ReadableStream({
      start(c) {
        for (const e of events) c.enqueue(new TextEncoder().encode(e));
        c.close();
      },
    }),
    { status: 200, headers: { 'content-type': 'text/event-stream' } },
  );
const STREAMED = () => sse(chunk(' the'), chunk(' best'), chunk('', 'length'), 'data: [DONE]\n\n');
const refusal = (status: number, code: string, message = code) => Response.json({ x402Version: 2, error: { message, type: 'payment_required', param: null, code }, accepts: [] }, { status });
const quoted = (payTo = DISTRIBUTOR) =>
  Response.json(
    {
      x402Version: 2,
      error: { message: 'this request costs 14000000000000 wei', type: 'payment_required', param: null, code: 'payment_required' },
      accepts: [
        {
          scheme: 'exact-native',
          network: 'eip155:31337',
          amount: AMOUNT.toString(),
          asset: '0x0000000000000000000000000000000000000000',
          payTo,
          extra: {
            requestId: REQUEST_ID,
            deadline: NOW / 1000 + 600,
            method: 'pay(bytes32 requestId, uint256 deadline)',
            tokens: 14,
            pricePerToken: '1000000000000',
            header: 'x-payment-id',
            model: 'openshard-micro',
          },
        },
      ],
    },
    { status: 402 },
  );

function coordinator(...script: Response[]) {
  const sent: { headers: Record<string, string>; body: unknown }[] = [];
  const paid: PaymentQuote[] = [];
  const slept: number[] = [];
  const deps = (
    pay: GenerationDeps['pay'] = async (q) => {
      paid.push(q);
      return { requestId: q.requestId, amount: q.amount, txHash: `0x${'cd'.repeat(32)}`, blockNumber: 5n };
    },
  ): GenerationDeps => ({
    fetch: async (_url, init) => {
      sent.push({ headers: init!.headers as Record<string, string>, body: JSON.parse(init!.body as string) });
      const next = script.shift();
      if (!next) throw new TypeError('fetch failed');
      return next;
    },
    chain: { chainId: 31337, rpcUrl: 'http://anvil', distributor: DISTRIBUTOR },
    pay,
    now: () => NOW,
    sleep: async (ms) => void slept.push(ms),
  });
  return { sent, paid, slept, deps };
}

async function run(input: GenerationInput, deps: GenerationDeps): Promise<{ run: Run; events: RunEvent['type'][] }> {
  let state = startRun('r', input.request, input.tokens, NOW, input.payment);
  const events: RunEvent['type'][] = [];
  await generate(input, deps, (e) => {
    events.push(e.type);
    state = runReducer(state, e);
  });
  return { run: state, events };
}

describe('generate', () => {
  test('behavior: a 402 is checked, paid exactly, and the same request sent again with the request id; the text streams in piece by piece', async () => {
    const c = coordinator(quoted(), STREAMED());
    const { run: r, events } = await run(INPUT, c.deps());
    expect(events).toEqual(['quoted', 'paid', 'streaming', 'piece', 'piece', 'piece', 'finished']);
    expect(c.paid).toHaveLength(1);
    expect(c.paid[0]).toMatchObject({ requestId: REQUEST_ID, amount: AMOUNT, payTo: DISTRIBUTOR, deadline: BigInt(NOW / 1000 + 600) });
    expect(c.sent.map((s) => s.headers['x-payment-id'])).toEqual([undefined, REQUEST_ID]);
    expect(c.sent[1].body).toEqual(REQUEST);
    expect(r).toMatchObject({ stage: 'done', text: ' the best', pieces: 2, finish: 'length', free: false, error: null });
    expect(r.payment).toMatchObject({ requestId: REQUEST_ID, amount: AMOUNT });
  });

  test('behavior: without payment required the first answer streams: free on this network', async () => {
    const c = coordinator(STREAMED());
    const { run: r, events } = await run(INPUT, c.deps(null));
    expect(events[0]).toBe('free');
    expect(r).toMatchObject({ stage: 'done', free: true, text: ' the best', payment: null });
  });

  test(`behavior: while the coordinator does not see the payment it is asked again, up to ${PAYMENT_SEEN_ATTEMPTS} times`, async () => {
    const c = coordinator(quoted(), refusal(402, 'payment_not_found'), refusal(402, 'payment_not_found'), STREAMED());
    expect((await run(INPUT, c.deps())).run.stage).toBe('done');
    expect(c.slept).toHaveLength(2);
    const never = coordinator(quoted(), ...Array.from({ length: PAYMENT_SEEN_ATTEMPTS }, () => refusal(402, 'payment_not_found', 'no payment for request id')));
    const { run: r } = await run(INPUT, never.deps());
    expect(never.sent).toHaveLength(1 + PAYMENT_SEEN_ATTEMPTS);
    expect(r.error).toEqual({ message: expect.stringMatching(/does not see the payment yet \(no payment for request id\).*Your payment is kept/), retryPaid: true });
  });

  test('behavior: a failure mid-stream keeps the payment; trying again sends the same request id without paying', async () => {
    const c = coordinator(
      quoted(),
      sse(chunk(' the'), `data: ${JSON.stringify({ error: { message: 'the generation failed: a shard left', type: 'server_error', param: null, code: 'generation_failed' } })}\n\n`),
    );
    const first = await run(INPUT, c.deps());
    expect(first.run).toMatchObject({ stage: 'failed', text: ' the', error: { retryPaid: true } });
    expect(first.run.error!.message).toBe('The generation failed: a shard left. Your payment is kept: press "Try again (already paid)".');

    const again = coordinator(STREAMED());
    const { run: r, events } = await run(
      { ...INPUT, payment: first.run.payment },
      again.deps(async () => expect.fail('a retry must not pay')),
    );
    expect(events).toEqual(['streaming', 'piece', 'piece', 'piece', 'finished']);
    expect(again.sent[0].headers['x-payment-id']).toBe(REQUEST_ID);
    expect(r.text).toBe(' the best');
  });

  test("error: a quote to another address than /chain's distributor is never paid", async () => {
    const c = coordinator(quoted('0x70997970C51812dc3A010C7d01b50e0d17dc79C8'));
    const { run: r, events } = await run(INPUT, c.deps());
    expect(events).toEqual(['failed']);
    expect(c.paid).toHaveLength(0);
    expect(r.error).toEqual({ message: expect.stringMatching(/pays 0x7099.*not the RevenueDistributor.*nothing was paid/), retryPaid: false });
  });

  test('error: a payment declined in the wallet, a used payment, a stream cut short and an unreachable coordinator each say what happened and what to do', async () => {
    const declined = await run(
      INPUT,
      coordinator(quoted()).deps(async () => Promise.reject(new UserRejectedRequestError(new Error('User rejected the request.')))),
    );
    expect(declined.run.error).toEqual({ message: 'You declined the payment in your wallet; nothing was paid.', retryPaid: false });

    const payment: Payment = { requestId: REQUEST_ID, amount: AMOUNT, txHash: `0x${'cd'.repeat(32)}`, blockNumber: 5n };
    const used = await run({ ...INPUT, payment }, coordinator(refusal(402, 'payment_already_used', 'request id was served already')).deps());
    expect(used.run.error).toEqual({ message: expect.stringMatching(/bought a generation already.*Press "Pay and generate" for a new quote/), retryPaid: false });

    const cut = await run({ ...INPUT, payment }, coordinator(sse(chunk(' the'))).deps());
    expect(cut.run.error).toEqual({ message: 'The stream ended before the generation finished. Your payment is kept: press "Try again (already paid)".', retryPaid: true });

    const down = await run(INPUT, coordinator().deps());
    expect(down.run.error).toEqual({ message: 'Could not reach the coordinator at http://coordinator: fetch failed. Nothing was paid; check your connection and try again.', retryPaid: false });

    const tooLong = await run(
      INPUT,
      coordinator(
        Response.json({ error: { message: "this model's context is 32 tokens", type: 'invalid_request_error', param: 'max_tokens', code: 'context_length_exceeded' } }, { status: 400 }),
      ).deps(),
    );
    expect(tooLong.run.error!.message).toBe("The coordinator refused the request (setting max_tokens): this model's context is 32 tokens. Change it and try again.");
  });
});
