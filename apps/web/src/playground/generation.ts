import { revertErrorName } from '@openshard/contracts';
import { BaseError, UserRejectedRequestError } from 'viem';
import type { ChainInfo } from '../earnings/chain-info.ts';
import { plainError } from '../earnings/plain-error.ts';
import type { CompletionRequest } from './completion-request.ts';
import { apiError, PAYMENT_HEADER, QuoteRefused, readQuote, type PaymentQuote } from './quote.ts';
import { explainRefusal } from './refusals.ts';
import type { Payment, RunEvent, RunFailure } from './run.ts';
import { completionEvent, sseData, StreamError } from './sse.ts';

/** Times a paid request is sent while the coordinator does not see its payment yet (its RPC may be a block behind). */
export const PAYMENT_SEEN_ATTEMPTS = 5;
/** Between those attempts (ms). */
export const PAYMENT_SEEN_RETRY_MS = 1_000;

/** The edges a generation touches; tests pass their own. */
export interface GenerationDeps {
  fetch: typeof fetch;
  /** Where payments go, as GET /chain says; null: the coordinator has no chain. */
  chain: ChainInfo | null;
  /** Pays a quote from the user's wallet and resolves once it is mined; null: no wallet is connected. */
  pay: ((quote: PaymentQuote) => Promise<Payment>) | null;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

export interface GenerationInput {
  /** The coordinator's origin. */
  url: string;
  request: CompletionRequest;
  /** Prompt bytes + max_tokens. */
  tokens: number;
  /** The most the user pays (wei). */
  maxWei: bigint;
  /** A payment kept from an earlier try: sent again without paying. */
  payment: Payment | null;
}

/** A generation that stopped: what to tell the user. */
class GenerationFailure extends Error {
  override name = 'GenerationFailure';
  constructor(readonly failure: RunFailure) {
    super(failure.message);
  }
}

/**
 * One press of "Pay and generate": ask for the request; on a 402, check the quote, pay it and
 * ask again with the request id; then read the stream. Everything it learns goes to `emit`
 * (see RunEvent); it never throws.
 */
export async function generate(input: GenerationInput, deps: GenerationDeps, emit: (e: RunEvent) => void): Promise<void> {
  let paid = input.payment !== null;
  try {
    let response: Response;
    if (input.payment) response = await sendPaid(input, deps, input.payment);
    else {
      response = await send(input, deps, null, false);
      if (response.status === 402) {
        const payment = await quoteAndPay(input, deps, response, emit);
        paid = true;
        emit({ type: 'paid', payment });
        response = await sendPaid(input, deps, payment);
      } else if (response.ok) emit({ type: 'free' });
    }
    if (!response.ok) throw new GenerationFailure(explainRefusal(response.status, apiError(response.status, await body(response)), paid));
    emit({ type: 'streaming' });
    await stream(response, paid, emit);
  } catch (e) {
    emit({ type: 'failed', failure: e instanceof GenerationFailure ? e.failure : { message: `Something unexpected went wrong: ${plainError(e)}.`, retryPaid: paid } });
  }
}

async function quoteAndPay(input: GenerationInput, deps: GenerationDeps, response: Response, emit: (e: RunEvent) => void): Promise<Payment> {
  if (!deps.chain) throw new GenerationFailure({ message: 'The coordinator asks for payment but announces no chain at /chain, so there is nowhere safe to pay; nothing was paid.', retryPaid: false });
  let quote: PaymentQuote;
  try {
    quote = readQuote(await body(response), { chain: deps.chain, model: input.request.model, tokens: input.tokens, maxWei: input.maxWei, now: deps.now() });
  } catch (e) {
    if (e instanceof QuoteRefused) throw new GenerationFailure({ message: `${e.message}.`, retryPaid: false });
    throw e;
  }
  emit({ type: 'quoted', quote });
  if (!deps.pay) throw new GenerationFailure({ message: 'Connect a wallet to pay for the request; nothing was paid.', retryPaid: false });
  try {
    return await deps.pay(quote);
  } catch (e) {
    throw new GenerationFailure({ message: paymentProblem(e), retryPaid: false });
  }
}

/** Sends a paid request, again while the coordinator does not see its payment yet. */
async function sendPaid(input: GenerationInput, deps: GenerationDeps, payment: Payment): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    const response = await send(input, deps, payment, true);
    if (response.status !== 402 || attempt === PAYMENT_SEEN_ATTEMPTS) return response;
    const refusal = apiError(402, await body(response.clone()));
    if (refusal.code !== 'payment_not_found') return response;
    await deps.sleep(PAYMENT_SEEN_RETRY_MS);
  }
}

async function send(input: GenerationInput, deps: GenerationDeps, payment: Payment | null, paid: boolean): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
  if (payment) headers[PAYMENT_HEADER] = payment.requestId;
  try {
    return await deps.fetch(`${input.url}/v1/completions`, { method: 'POST', headers, body: JSON.stringify(input.request) });
  } catch (e) {
    const what = `Could not reach the coordinator at ${input.url}: ${plainError(e)}.`;
    throw new GenerationFailure(
      paid
        ? { message: `${what} Your payment is kept: press "Try again (already paid)".`, retryPaid: true }
        : { message: `${what} Nothing was paid; check your connection and try again.`, retryPaid: false },
    );
  }
}

async function stream(response: Response, paid: boolean, emit: (e: RunEvent) => void): Promise<void> {
  const cut = (what: string) => new GenerationFailure({ message: `${what}${paid ? ' Your payment is kept: press "Try again (already paid)".' : ' Try again.'}`, retryPaid: paid });
  if (!response.body) throw cut('The coordinator answered without a stream.');
  let finished = false;
  try {
    for await (const data of sseData(response.body)) {
      const event = completionEvent(data);
      if (event.kind === 'done') break;
      // the coordinator's message begins "the generation failed: …"
      if (event.kind === 'error') throw cut(`${event.error.message.charAt(0).toUpperCase()}${event.error.message.slice(1)}.`);
      emit({ type: 'piece', text: event.text });
      if (event.finish) {
        finished = true;
        emit({ type: 'finished', finish: event.finish });
      }
    }
  } catch (e) {
    if (e instanceof GenerationFailure) throw e;
    throw cut(`The stream broke off: ${e instanceof StreamError ? e.message : plainError(e)}.`);
  }
  if (!finished) throw cut('The stream ended before the generation finished.');
}

async function body(response: Response): Promise<unknown> {
  return response.json().catch(() => null);
}

/** Why a payment did not go through, and what to do. */
function paymentProblem(e: unknown): string {
  if (e instanceof BaseError && e.walk((c) => c instanceof UserRejectedRequestError) instanceof UserRejectedRequestError) {
    return 'You declined the payment in your wallet; nothing was paid.';
  }
  switch (revertErrorName(e)) {
    case 'QuoteExpired':
      return 'The quote expired before the payment was mined; nothing was paid. Press "Pay and generate" for a new quote.';
    case 'AlreadyPaid':
      return 'This request id was paid already (by you in another tab, or by someone else); nothing more was paid. Press "Pay and generate" for a new quote.';
    case 'ZeroPayment':
      return 'The contract refuses a payment of 0 wei; nothing was paid.';
  }
  return `The payment did not go through: ${plainError(e)}. Check your wallet's activity before paying again.`;
}
