import { useCallback, useEffect, useRef, useState } from 'react';
import type { ChainInfo } from '../earnings/chain-info.ts';
import type { CompletionRequest } from './completion-request.ts';
import { generate } from './generation.ts';
import { clearFinished, HISTORY_KEY, type HistoryEntry, historyEntry, readHistory, recordEntry } from './history.ts';
import type { PaymentQuote } from './quote.ts';
import { isActive, type Payment, type Run, type RunEvent, runReducer, startRun } from './run.ts';

/** Events after which a run's history entry is written: it was paid, or it ended. */
const RECORDED: ReadonlySet<RunEvent['type']> = new Set(['paid', 'finished', 'failed']);

/** This browser's history of requests, kept in step with other tabs. */
export function useHistory() {
  const [entries, setEntries] = useState(() => readHistory(localStorage));
  useEffect(() => {
    const onStorage = (e: StorageEvent) => e.key === HISTORY_KEY && setEntries(readHistory(localStorage));
    addEventListener('storage', onStorage);
    return () => removeEventListener('storage', onStorage);
  }, []);
  const record = useCallback((entry: HistoryEntry) => setEntries(recordEntry(localStorage, entry)), []);
  const clear = useCallback(() => setEntries(clearFinished(localStorage)), []);
  return { entries, record, clear };
}

export interface StartParameters {
  request: CompletionRequest;
  /** Prompt bytes + max_tokens. */
  tokens: number;
  maxWei: bigint;
}

/** Sending a request again on a payment already made: the run keeps its history entry. */
export interface RetryParameters {
  id: string;
  time: number;
  payment: Payment;
  /** The quote it paid, when this page still has it. */
  quote: PaymentQuote | null;
}

/** One generation at a time: its state as it goes, recorded in the history when paid and when it ends. */
export function useGeneration(p: { url: string; chain: ChainInfo | null; pay: ((q: PaymentQuote) => Promise<Payment>) | null; record: (e: HistoryEntry) => void }) {
  const [run, setRun] = useState<Run | null>(null);
  const current = useRef<Run | null>(null);

  const start = (s: StartParameters, retry?: RetryParameters) => {
    if (isActive(current.current)) return;
    let next = startRun(retry?.id ?? newRunId(), s.request, s.tokens, retry?.time ?? Date.now(), retry?.payment ?? null, retry?.quote ?? null);
    const apply = (e: RunEvent) => {
      next = runReducer(next, e);
      current.current = next;
      setRun(next);
      const entry = RECORDED.has(e.type) ? historyEntry(next) : null;
      if (entry) p.record(entry);
    };
    current.current = next;
    setRun(next);
    const deps = { fetch: (input: RequestInfo | URL, init?: RequestInit) => fetch(input, init), chain: p.chain, pay: p.pay, now: Date.now, sleep };
    void generate({ url: p.url, ...s, payment: retry?.payment ?? null }, deps, apply);
  };

  return { run, active: isActive(run), start };
}

/** Unique enough within one browser's history (crypto.randomUUID needs a secure context). */
function newRunId(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
