import { isHex, type Hash, type Hex } from 'viem';
import type { CompletionRequest } from './completion-request.ts';
import type { Payment, Run } from './run.ts';

/**
 * This browser's requests, newest first, in localStorage: what was asked, what came back, and
 * what was paid. A paid request that did not finish keeps its request id, so it can be sent
 * again without paying twice.
 */
export interface HistoryEntry {
  id: string;
  /** ms since the Unix epoch. */
  time: number;
  model: string;
  prompt: string;
  text: string;
  /** Prompt bytes + max_tokens: what was priced. */
  tokens: number;
  /** Decimal wei; null when the request was free. */
  paidWei: string | null;
  txHash: Hash | null;
  requestId: Hex | null;
  /** paid: paid, not yet generated (the page closed, or it is running); served; failed. */
  status: 'paid' | 'served' | 'failed';
  finish: string | null;
  error: string | null;
  /** The same request id can be sent again without paying. */
  retryPaid: boolean;
  /** Sent again as it was, for a retry. */
  request: CompletionRequest;
}

export const HISTORY_KEY = 'openshard.playground.history';
/** Entries kept; older ones are dropped. */
export const MAX_HISTORY_ENTRIES = 100;

/** The entry a run leaves, or null while it has nothing worth keeping (no payment, no text, not finished). */
export function historyEntry(run: Run): HistoryEntry | null {
  if (!run.payment && run.stage !== 'done' && run.text === '') return null;
  const status = run.stage === 'done' ? 'served' : run.stage === 'failed' ? 'failed' : 'paid';
  return {
    id: run.id,
    time: run.startedAt,
    model: run.request.model,
    prompt: run.request.prompt,
    text: run.text,
    tokens: run.tokens,
    paidWei: run.payment ? run.payment.amount.toString() : null,
    txHash: run.payment?.txHash ?? null,
    requestId: run.payment?.requestId ?? null,
    status,
    finish: run.finish,
    error: run.error?.message ?? null,
    retryPaid: run.payment !== null && (status === 'paid' || (run.error?.retryPaid ?? false)),
    request: run.request,
  };
}

/** The payment a retry of `entry` reuses; null when it has none to reuse. */
export function entryPayment(entry: HistoryEntry): Payment | null {
  if (!entry.retryPaid || !entry.requestId || !entry.txHash || entry.paidWei === null) return null;
  return { requestId: entry.requestId, txHash: entry.txHash, amount: BigInt(entry.paidWei), blockNumber: 0n };
}

export function readHistory(storage: Pick<Storage, 'getItem'>): HistoryEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(storage.getItem(HISTORY_KEY) ?? '[]');
  } catch {
    return [];
  }
  return Array.isArray(parsed) ? parsed.filter(isEntry) : [];
}

/** Adds `entry`, or replaces the one with its id in place; returns the history as stored. */
export function recordEntry(storage: Pick<Storage, 'getItem' | 'setItem'>, entry: HistoryEntry): HistoryEntry[] {
  const entries = readHistory(storage);
  const at = entries.findIndex((e) => e.id === entry.id);
  if (at >= 0) entries[at] = entry;
  else entries.unshift(entry);
  const kept = entries.slice(0, MAX_HISTORY_ENTRIES);
  storage.setItem(HISTORY_KEY, JSON.stringify(kept));
  return kept;
}

/** Forgets every entry but those whose payment can still buy a generation; returns what is kept. */
export function clearFinished(storage: Pick<Storage, 'getItem' | 'setItem'>): HistoryEntry[] {
  const kept = readHistory(storage).filter((e) => e.retryPaid);
  storage.setItem(HISTORY_KEY, JSON.stringify(kept));
  return kept;
}

/** An entry as this page wrote it; anything else (another version, a hand edit) is skipped. */
function isEntry(v: unknown): v is HistoryEntry {
  const e = v as Partial<HistoryEntry> | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.id === 'string' &&
    typeof e.time === 'number' &&
    typeof e.prompt === 'string' &&
    typeof e.text === 'string' &&
    typeof e.tokens === 'number' &&
    (e.paidWei === null || (typeof e.paidWei === 'string' && /^\d+$/.test(e.paidWei))) &&
    (e.txHash === null || (typeof e.txHash === 'string' && isHex(e.txHash))) &&
    (e.requestId === null || (typeof e.requestId === 'string' && isHex(e.requestId))) &&
    (e.status === 'paid' || e.status === 'served' || e.status === 'failed') &&
    typeof e.retryPaid === 'boolean' &&
    typeof e.request === 'object' &&
    e.request !== null &&
    typeof e.request.prompt === 'string'
  );
}
