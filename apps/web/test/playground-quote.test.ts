import { describe, expect, test } from 'vitest';
import { DEFAULT_SETTINGS, parseStops, promptTokens, readRequest } from '../src/playground/completion-request.ts';
import { apiError, MIN_QUOTE_LIFETIME_S, QuoteRefused, readQuote, type ExpectedQuote } from '../src/playground/quote.ts';

const DISTRIBUTOR = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const REQUEST_ID = `0x${'ab'.repeat(32)}`;
const NOW = Date.UTC(2026, 0, 1);
const PRICE = 1_000_000_000_000n;
const expected: ExpectedQuote = { chain: { chainId: 31337, rpcUrl: 'http://127.0.0.1:8545', distributor: DISTRIBUTOR }, model: 'openshard-micro', tokens: 14, maxWei: 10n ** 16n, now: NOW };

/** A 402 body as the coordinator's payment gate writes it (apps/coordinator/src/payments/x402.ts), its offer and offer.extra changed as given. */
function paymentRequired(offerChange: Record<string, unknown> = {}, extraChange: Record<string, unknown> = {}): unknown {
  const extra = {
    requestId: REQUEST_ID,
    deadline: NOW / 1000 + 600,
    expiresAt: new Date(NOW + 600_000).toISOString(),
    method: 'pay(bytes32 requestId, uint256 deadline)',
    tokens: 14,
    pricePerToken: PRICE.toString(),
    header: 'x-payment-id',
    model: 'openshard-micro',
    ...extraChange,
  };
  const offer = {
    scheme: 'exact-native',
    network: 'eip155:31337',
    amount: (14n * PRICE).toString(),
    asset: '0x0000000000000000000000000000000000000000',
    payTo: DISTRIBUTOR,
    maxTimeoutSeconds: 599,
    extra,
    ...offerChange,
  };
  return {
    x402Version: 2,
    error: { message: 'this request costs 14000000000000 wei', type: 'payment_required', param: null, code: 'payment_required' },
    resource: { url: '/v1/completions', description: 'text generation', mimeType: 'application/json' },
    accepts: [offer],
  };
}

describe('readQuote', () => {
  test('behavior: a quote for this request, to the distributor /chain announced, is read as it is', () => {
    expect(readQuote(paymentRequired(), expected)).toEqual({
      requestId: REQUEST_ID,
      amount: 14n * PRICE,
      payTo: DISTRIBUTOR,
      chainId: 31337,
      deadline: BigInt(NOW / 1000 + 600),
      tokens: 14,
      pricePerToken: PRICE,
      model: 'openshard-micro',
    });
    // addresses compare without regard to case
    expect(readQuote(paymentRequired({ payTo: DISTRIBUTOR.toLowerCase() }), expected).payTo).toBe(DISTRIBUTOR);
  });

  test.each([
    ['another payee', { payTo: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' }, {}, /pays 0x7099.*not the RevenueDistributor 0x5FbDB/],
    ['another network', { network: 'eip155:1' }, {}, /network 'eip155:1', but the coordinator's chain is eip155:31337/],
    ['a token, not ETH', { asset: '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48' }, {}, /token 0xA0b8/],
    ['more tokens than asked', {}, { tokens: 20 }, /prices 20 tokens; this request is 14/],
    ['an amount that does not add up', { amount: '15000000000000' }, {}, /asks 15000000000000 wei, but 14 tokens × 1000000000000 wei is 14000000000000/],
    ['a price of 0', { amount: '0' }, { pricePerToken: '0' }, /asks 0 wei/],
    ['an amount that is not wei', { amount: '1e18' }, {}, /amount '1e18'/],
    ['another method', {}, { method: 'deposit()' }, /'deposit\(\)', not pay\(bytes32/],
    ['another header', {}, { header: 'authorization' }, /header 'authorization'/],
    ['a short request id', {}, { requestId: '0xabcd' }, /request id '0xabcd', not 32 bytes/],
    ['another model', {}, { model: 'gpt-4' }, /model 'gpt-4', not openshard-micro/],
    ['a deadline too soon to pay', {}, { deadline: NOW / 1000 + MIN_QUOTE_LIFETIME_S - 1 }, /too soon to pay/],
    ['another scheme', { scheme: 'exact' }, {}, /no 'exact-native' payment/],
  ])('error: a quote with %s is refused before anything is paid', (_, offerChange, extraChange, message) => {
    const body = paymentRequired(offerChange, extraChange);
    expect(() => readQuote(body, expected)).toThrow(QuoteRefused);
    expect(() => readQuote(body, expected)).toThrow(message);
    expect(() => readQuote(body, expected)).toThrow(/nothing was paid/);
  });

  test('error: a quote above the most the user pays, or a body that is no x402 answer, is refused', () => {
    expect(() => readQuote(paymentRequired(), { ...expected, maxWei: 14n * PRICE - 1n })).toThrow(/asks 14000000000000 wei, more than the most you pay \(13999999999999 wei\).*Raise "Most you pay"/);
    expect(() => readQuote({ error: { message: 'x' } }, expected)).toThrow(/x402Version undefined/);
    expect(() => readQuote(null, expected)).toThrow(QuoteRefused);
  });
});

describe('apiError', () => {
  test("behavior: reads the OpenAI error object, the coordinator's other error shape, and stands in for neither", () => {
    expect(apiError(400, { error: { message: 'too long', type: 'invalid_request_error', param: 'max_tokens', code: 'context_length_exceeded' } })).toEqual({
      message: 'too long',
      type: 'invalid_request_error',
      param: 'max_tokens',
      code: 'context_length_exceeded',
    });
    expect(apiError(413, { error: 'body-too-large', message: 'the body is over 1048576 bytes' })).toEqual({
      message: 'the body is over 1048576 bytes',
      type: 'error',
      param: null,
      code: 'body-too-large',
    });
    expect(apiError(502, null)).toEqual({ message: 'the coordinator answered 502 without an error object', type: 'error', param: null, code: '502' });
  });
});

describe('readRequest', () => {
  test('behavior: the form becomes the streamed request; tokens are prompt bytes plus max tokens', () => {
    const r = readRequest('openshard-micro', 32, 'Café', { ...DEFAULT_SETTINGS, maxTokens: '10', seed: '7', stop: '.\n\\n\n' });
    expect(r).toEqual({
      ok: true,
      tokens: 15,
      maxWei: 10n ** 16n,
      request: { model: 'openshard-micro', prompt: 'Café', max_tokens: 10, temperature: 0.8, top_p: 0.95, top_k: 0, seed: 7, stop: ['.', '\n'], stream: true },
    });
    expect(promptTokens('Café')).toBe(5);
    const noSeed = readRequest('m', 32, 'x', DEFAULT_SETTINGS);
    expect(noSeed.ok && 'seed' in noSeed.request).toBe(false);
    expect(parseStops('a\\tb\n\nc\\\\n')).toEqual(['a\tb', 'c\\n']);
  });

  test('error: every bad setting is named with its limit, and a request past the context says what to shorten', () => {
    const r = readRequest('m', 32, 'x'.repeat(30), { maxTokens: '4', temperature: '3', topP: '0', topK: '-1', seed: '1.5', stop: 'a\nb\nc\nd\ne', maxEth: 'lots' });
    expect(r.ok).toBe(false);
    const problems = r.ok ? [] : r.problems;
    expect(problems).toEqual([
      "Temperature is '3'; it must be a number from 0 to 2",
      "Top-p is '0'; it must be a number above 0 and at most 1",
      "Top-k is '-1'; it must be a whole number, 0 for no limit",
      "Seed is '1.5'; it must be empty (random) or a whole number from 0 to 4294967295",
      'there are 5 stop sequences; at most 4 are allowed',
      "Most you pay is 'lots'; it must be an amount of ETH above 0, like 0.01",
      'the prompt (30 bytes) plus max tokens (4) is 34 tokens; this model reads at most 32. Shorten the prompt or lower max tokens',
    ]);
    expect(readRequest('m', 32, '', DEFAULT_SETTINGS)).toEqual({ ok: false, problems: ['the prompt is empty: write the text the model should continue'] });
  });
});
