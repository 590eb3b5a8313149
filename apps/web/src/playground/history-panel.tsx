import { formatEth } from '../earnings/format-wei.ts';
import type { HistoryEntry } from './history.ts';

const STATUS: Record<HistoryEntry['status'], string> = { paid: 'paid, not generated yet', served: 'generated', failed: 'failed' };

/** This browser's requests, newest first. */
export function HistoryPanel(p: { entries: HistoryEntry[]; busy: boolean; onRetryPaid: (e: HistoryEntry) => void; onClear: () => void }) {
  if (p.entries.length === 0) return <p className="muted">No requests from this browser yet.</p>;
  return (
    <>
      <ol className="history">
        {p.entries.map((e) => (
          <li key={e.id} className="panel" data-testid="history-entry" data-request-id={e.requestId ?? ''} data-status={e.status}>
            <p className="muted">
              {new Date(e.time).toLocaleString()} · {e.model} · {e.tokens} tokens ·{' '}
              {e.paidWei === null ? 'free' : <span data-testid="history-paid" data-wei={e.paidWei}>{`${formatEth(e.paidWei, 9)} ETH (${e.paidWei} wei)`}</span>} ·{' '}
              <span className={e.status === 'failed' ? 'bad' : e.status === 'served' ? 'ok' : ''}>{STATUS[e.status]}</span>
            </p>
            <pre className="generation">
              <span className="muted">{e.prompt}</span>
              <span data-testid="history-text">{e.text}</span>
            </pre>
            {(e.txHash || e.requestId) && (
              <p className="ids muted">
                {e.txHash && (
                  <>
                    Transaction <code data-testid="history-tx">{e.txHash}</code>{' '}
                  </>
                )}
                {e.requestId && (
                  <>
                    Request id <code>{e.requestId}</code>
                  </>
                )}
              </p>
            )}
            {e.error && <p className="bad">{e.error}</p>}
            {e.retryPaid && (
              <button type="button" disabled={p.busy} onClick={() => p.onRetryPaid(e)}>
                Generate with this payment
              </button>
            )}
          </li>
        ))}
      </ol>
      <button type="button" onClick={p.onClear} disabled={p.busy}>
        Clear finished requests
      </button>
    </>
  );
}
