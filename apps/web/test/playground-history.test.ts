import { describe, expect, test } from 'vitest';
import { clearFinished, entryPayment, HISTORY_KEY, historyEntry, MAX_HISTORY_ENTRIES, readHistory, recordEntry, type HistoryEntry } from '../src/playground/history.ts';
import { runReducer, startRun, type Payment, type RunEvent } from '../src/playground/run.ts';
import type { CompletionRequest } from '../src/playground/completion-request.ts';

/** localStorage's surface, in memory. */
function memoryStorage(): Storage & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return {
    map,
    get length() {
      return map.size;
    },
    clear: () => map.clear(),
    getItem: (k) => map.get(k) ?? null,
    key: (i) => [...map.keys()][i] ?? null,
    removeItem: (k) => void map.delete(k),
    setItem: (k, v) => void map.set(k, v),
  };
}

const REQUEST: CompletionRequest = { model: 'openshard-micro', prompt: 'It was', max_tokens: 8, temperature: 0.8, top_p: 0.95, top_k: 0, stream: true };
const PAYMENT: Payment = { requestId: `0x${'11'.repeat(32)}`, amount: 14_000_000_000_000n, txHash: `0x${'22'.repeat(32)}`, blockNumber: 9n };

const play = (id: string, ...events: RunEvent[]) => events.reduce(runReducer, startRun(id, REQUEST, 14, 1_000));

describe('historyEntry', () => {
  test('behavior: a paid run is recorded as paid, then served with its text, tokens, wei, transaction and request id', () => {
    expect(historyEntry(play('a'))).toBeNull();
    const paid = play('a', { type: 'paid', payment: PAYMENT });
    expect(historyEntry(paid)).toMatchObject({ id: 'a', status: 'paid', retryPaid: true, paidWei: '14000000000000', text: '' });
    const served = play('a', { type: 'paid', payment: PAYMENT }, { type: 'streaming' }, { type: 'piece', text: ' the' }, { type: 'piece', text: ' best' }, { type: 'finished', finish: 'length' });
    expect(historyEntry(served)).toEqual({
      id: 'a',
      time: 1_000,
      model: 'openshard-micro',
      prompt: 'It was',
      text: ' the best',
      tokens: 14,
      paidWei: '14000000000000',
      txHash: PAYMENT.txHash,
      requestId: PAYMENT.requestId,
      status: 'served',
      finish: 'length',
      error: null,
      retryPaid: false,
      request: REQUEST,
    });
    expect(served.pieces).toBe(2);
  });

  test('behavior: a failure keeps the payment for a retry only when the coordinator did not spend it; one before payment leaves nothing', () => {
    const cut = play('b', { type: 'paid', payment: PAYMENT }, { type: 'streaming' }, { type: 'failed', failure: { message: 'broke off', retryPaid: true } });
    const entry = historyEntry(cut)!;
    expect(entry).toMatchObject({ status: 'failed', retryPaid: true, error: 'broke off' });
    expect(entryPayment(entry)).toEqual({ ...PAYMENT, blockNumber: 0n });
    const used = play('c', { type: 'paid', payment: PAYMENT }, { type: 'failed', failure: { message: 'used', retryPaid: false } });
    expect(entryPayment(historyEntry(used)!)).toBeNull();
    expect(historyEntry(play('d', { type: 'failed', failure: { message: 'declined', retryPaid: false } }))).toBeNull();
    expect(historyEntry(play('e', { type: 'free' }, { type: 'piece', text: 'x' }, { type: 'finished', finish: 'stop' }))).toMatchObject({
      paidWei: null,
      txHash: null,
      requestId: null,
      status: 'served',
    });
  });
});

describe('the history store', () => {
  test('behavior: newest first; an entry recorded again is replaced in place; it survives a reload', () => {
    const storage = memoryStorage();
    const first = historyEntry(play('a', { type: 'paid', payment: PAYMENT }))!;
    const second = historyEntry(play('b', { type: 'free' }, { type: 'piece', text: 'x' }, { type: 'finished', finish: 'stop' }))!;
    recordEntry(storage, first);
    recordEntry(storage, second);
    const served: HistoryEntry = { ...first, status: 'served', text: ' the', retryPaid: false };
    expect(recordEntry(storage, served).map((e) => [e.id, e.status])).toEqual([
      ['b', 'served'],
      ['a', 'served'],
    ]);
    expect(readHistory(storage)).toEqual([second, served]);
  });

  test(`behavior: keeps the newest ${MAX_HISTORY_ENTRIES}; clearing keeps payments that can still buy a generation`, () => {
    const storage = memoryStorage();
    for (let i = 0; i < MAX_HISTORY_ENTRIES + 5; i++) recordEntry(storage, { ...historyEntry(play(`r${i}`, { type: 'paid', payment: PAYMENT }))!, retryPaid: i === MAX_HISTORY_ENTRIES + 4 });
    const all = readHistory(storage);
    expect(all).toHaveLength(MAX_HISTORY_ENTRIES);
    expect(all[0].id).toBe(`r${MAX_HISTORY_ENTRIES + 4}`);
    expect(clearFinished(storage).map((e) => e.id)).toEqual([`r${MAX_HISTORY_ENTRIES + 4}`]);
  });

  test('error: what this page did not write is skipped, not trusted', () => {
    const storage = memoryStorage();
    storage.setItem(HISTORY_KEY, '{not json');
    expect(readHistory(storage)).toEqual([]);
    const good = historyEntry(play('a', { type: 'paid', payment: PAYMENT }))!;
    storage.setItem(HISTORY_KEY, JSON.stringify([good, { ...good, id: 'x', paidWei: '1e18' }, { ...good, id: 'y', txHash: 'nope' }, { ...good, id: 'z', status: 'lost' }, 42, null]));
    expect(readHistory(storage).map((e) => e.id)).toEqual(['a']);
  });
});
