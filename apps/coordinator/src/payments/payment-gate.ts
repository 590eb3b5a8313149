import { bytesToHex, isHex, type Address, type Hex } from 'viem';
import type { PaymentStore, QuoteRecord } from '../store/stores.ts';

export interface PaymentPolicy {
  /** Wei per token, prompt and max_tokens alike; 0 serves without payment. */
  pricePerToken: bigint;
  /** How long an unpaid quote can be paid (the chain refuses payment after its deadline too). */
  quoteTtlMs: number;
  /** Blocks on top of the payment's before it counts (1: mined). */
  confirmations: number;
  /** How long a paid request id stays redeemable after its quote expired. */
  retentionMs: number;
}

export const DEFAULT_PAYMENTS: PaymentPolicy = { pricePerToken: 10n ** 12n, quoteTtlMs: 10 * 60_000, confirmations: 1, retentionMs: 7 * 24 * 3_600_000 };

/** The header a paid request carries: the request id it paid for. */
export const PAYMENT_HEADER = 'x-payment-id';

/** What the gate reads on chain: the wei paid to the distributor for a request id, with enough confirmations. */
export interface PaymentChain {
  readonly chainId: number;
  /** The distributor's address: payments go to its `pay(requestId, deadline)`. */
  readonly payTo: Address;
  paidFor(requestId: Hex, confirmations: number): Promise<bigint>;
}

/** Why a request is not served (yet): each says what to do next. */
export type RefusalCode =
  | 'payment_required'
  | 'invalid_payment_id'
  | 'unknown_request_id'
  | 'quote_mismatch'
  | 'payment_not_found'
  | 'payment_insufficient'
  | 'quote_expired'
  | 'payment_already_used'
  | 'request_in_progress';

/** A refused request: 402 with a quote to pay (a fresh one, unless the current one is still good to pay), or 409. */
export class PaymentRefusal extends Error {
  override name = 'PaymentRefusal';
  constructor(
    readonly code: RefusalCode,
    message: string,
    readonly quote: QuoteRecord | null,
  ) {
    super(message);
  }

  get status(): 402 | 409 {
    return this.code === 'request_in_progress' ? 409 : 402;
  }
}

/** A request admitted to be served: report how it ended, so the payment is spent once, or kept for a retry. */
export interface Admission {
  requestId: Hex | null;
  paid: bigint;
  served(completionTokens: number): Promise<void>;
  failed(): Promise<void>;
}

const FREE: Admission = { requestId: null, paid: 0n, served: async () => {}, failed: async () => {} };

/**
 * Decides whether a priced request is served: without a payment id it is quoted (402); with one,
 * the quote must exist, cover the request, be paid on chain for at least its amount (on this
 * chain, at this distributor), and not have been served; then it is served once.
 */
export class PaymentGate {
  constructor(
    private readonly store: PaymentStore,
    private readonly chain: PaymentChain | null,
    readonly policy: PaymentPolicy,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Requests are free without a chain to pay on, or at price 0. */
  get free(): boolean {
    return !this.chain || this.policy.pricePerToken === 0n;
  }

  get network(): string | null {
    return this.chain ? `eip155:${this.chain.chainId}` : null;
  }

  get payTo(): Address | null {
    return this.chain?.payTo ?? null;
  }

  price(tokens: number): bigint {
    return BigInt(tokens) * this.policy.pricePerToken;
  }

  async admit(model: string, tokens: number, header: string | undefined): Promise<Admission> {
    if (this.free) return FREE;
    if (header === undefined || header === '')
      throw new PaymentRefusal(
        'payment_required',
        `this request costs ${this.price(tokens)} wei (${tokens} tokens × ${this.policy.pricePerToken} wei); ${this.howToPay()}`,
        await this.quote(model, tokens),
      );
    if (!isHex(header) || header.length !== 66) throw await this.refuse('invalid_payment_id', `${PAYMENT_HEADER} '${header.slice(0, 80)}' is not a request id (0x and 64 hex digits)`, model, tokens);
    const requestId = header.toLowerCase() as Hex;
    const q = await this.store.quote(requestId);
    if (!q)
      throw await this.refuse(
        'unknown_request_id',
        `request id ${requestId} was not quoted by this coordinator (or its payment window closed ${this.policy.retentionMs / 3_600_000} h after expiry)`,
        model,
        tokens,
      );
    if (q.model !== model || tokens > q.tokens)
      throw await this.refuse('quote_mismatch', `request id ${requestId} was quoted for ${q.tokens} tokens of ${q.model}; this request is ${tokens} tokens of ${model}`, model, tokens);
    if (q.state === 'served') throw await this.refuse('payment_already_used', `request id ${requestId} was served already (a payment serves one request)`, model, tokens);
    if (q.state === 'serving') throw new PaymentRefusal('request_in_progress', `request id ${requestId} is being served by another request right now; wait for it`, null);
    const paid = await this.chain!.paidFor(requestId, this.policy.confirmations);
    await this.checkPaid(q, paid, model, tokens);
    if (!(await this.store.startServing(requestId))) throw new PaymentRefusal('request_in_progress', `request id ${requestId} was taken by another request at the same moment`, null);
    return {
      requestId,
      paid,
      served: (completionTokens) => this.store.served(requestId, paid, completionTokens, this.clock()),
      failed: () => this.store.unserved(requestId),
    };
  }

  private async checkPaid(q: QuoteRecord, paid: bigint, model: string, tokens: number): Promise<void> {
    if (paid >= q.amount) return;
    const where = `on chain eip155:${this.chain!.chainId} at ${this.chain!.payTo}`;
    if (paid > 0n)
      throw await this.refuse('payment_insufficient', `request id ${q.requestId} was paid ${paid} wei ${where}, below its quote of ${q.amount} wei (a request id is paid once)`, model, tokens);
    if (this.clock() > q.expiresAt) throw await this.refuse('quote_expired', `the quote for request id ${q.requestId} expired unpaid at ${new Date(q.expiresAt).toISOString()}`, model, tokens);
    throw new PaymentRefusal('payment_not_found', `no payment for request id ${q.requestId} ${where} with ${this.policy.confirmations} confirmation(s) yet; ${this.howToPay()}`, q);
  }

  private howToPay(): string {
    return `pay it with ${PAY_METHOD} on the distributor ${this.chain!.payTo} (chain eip155:${this.chain!.chainId}), then repeat the request with the header ${PAYMENT_HEADER}: <requestId>`;
  }

  private async refuse(code: RefusalCode, message: string, model: string, tokens: number): Promise<PaymentRefusal> {
    return new PaymentRefusal(code, `${message}; a new quote is attached`, await this.quote(model, tokens));
  }

  private async quote(model: string, tokens: number): Promise<QuoteRecord> {
    const now = this.clock();
    await this.store.prune(now - this.policy.retentionMs);
    const q: QuoteRecord = {
      requestId: bytesToHex(crypto.getRandomValues(new Uint8Array(32))),
      model,
      tokens,
      amount: this.price(tokens),
      expiresAt: now + this.policy.quoteTtlMs,
      createdAt: now,
      state: 'quoted',
      servedAt: null,
      paid: null,
      completionTokens: null,
    };
    await this.store.addQuote(q);
    return q;
  }
}

/** The distributor's function a caller pays with. */
export const PAY_METHOD = 'pay(bytes32 requestId, uint256 deadline)';
