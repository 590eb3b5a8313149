import { getAddress, isAddress, isAddressEqual, isHex, zeroAddress, type Address, type Hex } from 'viem';
import type { ChainInfo } from '../earnings/chain-info.ts';

/**
 * The coordinator's answers, read without trusting them: a 402's quote is paid only if it asks
 * for the distributor and chain that GET /chain announced, for the request this page sent, at a
 * price that adds up, and in time to be mined before its deadline.
 */

/** A quote this page is willing to pay: `amount` wei to `pay(requestId, deadline)` on `payTo`. */
export interface PaymentQuote {
  requestId: Hex;
  amount: bigint;
  payTo: Address;
  chainId: number;
  /** Unix seconds: a payment mined later reverts QuoteExpired. */
  deadline: bigint;
  tokens: number;
  pricePerToken: bigint;
  model: string;
}

/** OpenAI's error object, which every /v1 refusal carries (other routes answer `{ error: code, message }`). */
export interface ApiError {
  message: string;
  type: string;
  param: string | null;
  code: string;
}

/** The x402 scheme, method and header the coordinator's payment gate uses (apps/coordinator/src/payments). */
export const PAYMENT_SCHEME = 'exact-native';
export const PAY_METHOD = 'pay(bytes32 requestId, uint256 deadline)';
export const PAYMENT_HEADER = 'x-payment-id';
/** A quote must leave this long to pay and mine before its deadline (s). */
export const MIN_QUOTE_LIFETIME_S = 30;

/** A 402 whose quote this page refuses to pay; nothing was paid. */
export class QuoteRefused extends Error {
  override name = 'QuoteRefused';
}

/** The error object of any coordinator answer, or a stand-in naming the status when there is none. */
export function apiError(status: number, body: unknown): ApiError {
  const e = (body as { error?: unknown; message?: unknown } | null)?.error;
  if (typeof e === 'object' && e !== null && typeof (e as ApiError).message === 'string') {
    const { message, type, param, code } = e as Partial<ApiError>;
    return { message: message!, type: typeof type === 'string' ? type : 'error', param: typeof param === 'string' ? param : null, code: typeof code === 'string' ? code : String(status) };
  }
  const message = (body as { message?: unknown } | null)?.message;
  if (typeof e === 'string') return { message: typeof message === 'string' ? message : e, type: 'error', param: null, code: e };
  return { message: `the coordinator answered ${status} without an error object`, type: 'error', param: null, code: String(status) };
}

export interface ExpectedQuote {
  chain: ChainInfo;
  model: string;
  /** Prompt bytes + max_tokens: what this page asked for. */
  tokens: number;
  /** The most the user agreed to pay (wei). */
  maxWei: bigint;
  /** ms since the Unix epoch. */
  now: number;
}

/** The quote in a 402 body, checked against what this page asked and where it pays; throws QuoteRefused saying why. */
export function readQuote(body: unknown, expected: ExpectedQuote): PaymentQuote {
  const b = body as { x402Version?: unknown; accepts?: unknown } | null;
  if (b?.x402Version !== 2 || !Array.isArray(b.accepts))
    throw new QuoteRefused(`the coordinator asked for payment in a shape this page does not know (x402Version ${String(b?.x402Version)}); nothing was paid`);
  const offer = (b.accepts as unknown[]).find((a) => (a as { scheme?: unknown } | null)?.scheme === PAYMENT_SCHEME) as Record<string, unknown> | undefined;
  if (!offer) throw new QuoteRefused(`the coordinator offered no '${PAYMENT_SCHEME}' payment; nothing was paid`);
  const extra = (offer.extra ?? {}) as Record<string, unknown>;
  const { chain } = expected;
  const refuse = (what: string): never => {
    throw new QuoteRefused(`the quote ${what}; nothing was paid. Reload the page, and if it persists, do not pay this coordinator`);
  };

  if (offer.network !== `eip155:${chain.chainId}`) refuse(`is for network '${String(offer.network)}', but the coordinator's chain is eip155:${chain.chainId}`);
  if (typeof offer.payTo !== 'string' || !isAddress(offer.payTo, { strict: false }) || !isAddressEqual(offer.payTo, chain.distributor)) {
    refuse(`pays ${String(offer.payTo)}, not the RevenueDistributor ${chain.distributor} that /chain announced`);
  }
  if (typeof offer.asset !== 'string' || !isAddress(offer.asset, { strict: false }) || !isAddressEqual(offer.asset, zeroAddress)) refuse(`asks for the token ${String(offer.asset)}, not ETH`);
  if (extra.method !== PAY_METHOD) refuse(`asks for a call to '${String(extra.method)}', not ${PAY_METHOD}`);
  if (extra.header !== PAYMENT_HEADER) refuse(`names the header '${String(extra.header)}', not ${PAYMENT_HEADER}`);
  if (typeof extra.requestId !== 'string' || !isHex(extra.requestId) || extra.requestId.length !== 66) refuse(`has the request id '${String(extra.requestId)}', not 32 bytes of hex`);
  if (extra.model !== expected.model) refuse(`is for the model '${String(extra.model)}', not ${expected.model}`);
  if (extra.tokens !== expected.tokens) refuse(`prices ${String(extra.tokens)} tokens; this request is ${expected.tokens} (prompt bytes + max tokens)`);
  const amount = decimal(offer.amount) ?? refuse(`has the amount '${String(offer.amount)}', not a decimal number of wei`);
  const pricePerToken = decimal(extra.pricePerToken) ?? refuse(`has the price per token '${String(extra.pricePerToken)}', not a decimal number of wei`);
  if (amount !== BigInt(expected.tokens) * pricePerToken) refuse(`asks ${amount} wei, but ${expected.tokens} tokens × ${pricePerToken} wei is ${BigInt(expected.tokens) * pricePerToken}`);
  if (amount === 0n) refuse('asks 0 wei, which the contract refuses');
  if (typeof extra.deadline !== 'number' || !Number.isSafeInteger(extra.deadline)) refuse(`has the deadline '${String(extra.deadline)}', not unix seconds`);
  const deadline = extra.deadline as number;
  if (deadline < expected.now / 1000 + MIN_QUOTE_LIFETIME_S) refuse(`expires at ${new Date(deadline * 1000).toISOString()}, too soon to pay (less than ${MIN_QUOTE_LIFETIME_S} s from now)`);
  if (amount > expected.maxWei) {
    throw new QuoteRefused(`the quote asks ${amount} wei, more than the most you pay (${expected.maxWei} wei); nothing was paid. Raise "Most you pay" or lower max tokens`);
  }
  return {
    requestId: (extra.requestId as string).toLowerCase() as Hex,
    amount,
    payTo: getAddress(offer.payTo as string),
    chainId: chain.chainId,
    deadline: BigInt(deadline),
    tokens: expected.tokens,
    pricePerToken,
    model: expected.model,
  };
}

function decimal(v: unknown): bigint | null {
  return typeof v === 'string' && /^\d{1,78}$/.test(v) ? BigInt(v) : null;
}
