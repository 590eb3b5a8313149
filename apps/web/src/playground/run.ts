import type { Hash, Hex } from 'viem';
import type { CompletionRequest } from './completion-request.ts';
import type { PaymentQuote } from './quote.ts';

/** A quote paid on chain: `amount` wei for `requestId` in transaction `txHash`. */
export interface Payment {
  requestId: Hex;
  amount: bigint;
  txHash: Hash;
  blockNumber: bigint;
}

/**
 * Where one "Pay and generate" stands:
 *   quoting → paying → checking → streaming → done
 * (a free network skips paying and checking; a retry with a kept payment starts at checking);
 * any stage can end in failed.
 */
export type RunStage = 'quoting' | 'paying' | 'checking' | 'streaming' | 'done' | 'failed';

export interface Run {
  /** This browser's name for the run: its history entry. */
  id: string;
  /** ms since the Unix epoch. */
  startedAt: number;
  request: CompletionRequest;
  /** Prompt bytes + max_tokens: what is priced. */
  tokens: number;
  stage: RunStage;
  quote: PaymentQuote | null;
  /** The coordinator served without asking for payment. */
  free: boolean;
  payment: Payment | null;
  text: string;
  /** Non-empty pieces of text received. */
  pieces: number;
  /** 'length' or 'stop' once the last chunk came. */
  finish: string | null;
  error: RunFailure | null;
}

export interface RunFailure {
  /** What went wrong and what to do about it. */
  message: string;
  /** The payment is still good: the same request id can be sent again without paying. */
  retryPaid: boolean;
}

export type RunEvent =
  | { type: 'quoted'; quote: PaymentQuote }
  | { type: 'free' }
  | { type: 'paid'; payment: Payment }
  | { type: 'streaming' }
  | { type: 'piece'; text: string }
  | { type: 'finished'; finish: string }
  | { type: 'failed'; failure: RunFailure };

/** A new run; with a `payment` kept from an earlier try (and its quote, when known) it starts at checking. */
export function startRun(id: string, request: CompletionRequest, tokens: number, now: number, payment: Payment | null = null, quote: PaymentQuote | null = null): Run {
  return { id, startedAt: now, request, tokens, stage: payment ? 'checking' : 'quoting', quote, free: false, payment, text: '', pieces: 0, finish: null, error: null };
}

export function runReducer(run: Run, e: RunEvent): Run {
  switch (e.type) {
    case 'quoted':
      return { ...run, stage: 'paying', quote: e.quote };
    case 'free':
      return { ...run, stage: 'streaming', free: true };
    case 'paid':
      return { ...run, stage: 'checking', payment: e.payment };
    case 'streaming':
      // a retry starts the text again: the coordinator generates it anew
      return { ...run, stage: 'streaming', text: '', pieces: 0, finish: null, error: null };
    case 'piece':
      return e.text === '' ? run : { ...run, text: run.text + e.text, pieces: run.pieces + 1 };
    case 'finished':
      return { ...run, stage: 'done', finish: e.finish };
    case 'failed':
      return { ...run, stage: 'failed', error: e.failure };
  }
}

/** A run has ended, or not: only one runs at a time. */
export function isActive(run: Run | null): boolean {
  return run !== null && run.stage !== 'done' && run.stage !== 'failed';
}
