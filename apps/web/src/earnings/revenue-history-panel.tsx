import type { RevenueView } from '@openshard/protocol';
import { useMemo } from 'react';
import { formatCount } from '../dashboard/format.ts';
import { formatEth } from './format-wei.ts';
import { RevenueChart } from './revenue-chart.tsx';
import { type RevenueRow, revenueChart, revenueRows, revenueTotals, TABLE_ROWS } from './revenue-history.ts';
import './revenue-history.css';

/** Each closed epoch's revenue and the connected address's part of it: totals, a chart, and the latest epochs in a table. */
export function RevenueHistoryPanel({ history, problem }: { history: RevenueView | undefined; problem: string | null }) {
  const shown = useMemo(() => (history ? { totals: revenueTotals(history), chart: revenueChart(history), rows: revenueRows(history) } : null), [history]);
  if (!shown) return <div className="panel">{problem ? <p className="bad">{problem}</p> : <p className="muted">Loading the revenue history…</p>}</div>;
  const { totals, chart, rows } = shown;

  return (
    <div className="panel" data-testid="revenue-history">
      {totals.epochs === 0 ? (
        <p className="muted" data-testid="revenue-no-epoch">
          No epoch has closed yet: revenue is counted, and split among holders, when an epoch closes.
        </p>
      ) : (
        <>
          <p>
            {totals.epochs} {totals.epochs === 1 ? 'epoch' : 'epochs'}:{' '}
            <span data-testid="revenue-total" data-wei={totals.revenue.toString()}>
              {formatEth(totals.revenue)} ETH
            </span>{' '}
            of revenue from {formatCount(totals.requests)} paid {totals.requests === 1 ? 'request' : 'requests'}; your part{' '}
            <span data-testid="revenue-total-part" data-wei={totals.part?.toString() ?? ''}>
              {totals.part === null ? '—' : `${formatEth(totals.part)} ETH`}
            </span>
            .
          </p>
          <p className="muted">An epoch's revenue is split over the shares held before it opened, so work you do now earns from the next epoch on.</p>
          <RevenueChart chart={chart} />
          <RevenueTable rows={rows} epochs={totals.epochs} />
        </>
      )}
      {problem && <p className="bad">{problem}</p>}
    </div>
  );
}

function RevenueTable({ rows, epochs }: { rows: RevenueRow[]; epochs: number }) {
  return (
    <div className="revenue-table-scroll">
      <table className="revenue-table" aria-label="Revenue by epoch">
        {epochs > TABLE_ROWS && (
          <caption className="muted">
            The latest {TABLE_ROWS} of {epochs} epochs.
          </caption>
        )}
        <thead>
          <tr>
            <th>Epoch</th>
            <th className="num">Paid requests</th>
            <th className="num">Revenue (ETH)</th>
            <th className="num">Your part (ETH)</th>
            <th>Published</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.epoch} data-testid="revenue-row" data-epoch={r.epoch}>
              <td title={`closed ${new Date(r.closedAt).toLocaleString()}`}>{r.epoch}</td>
              <td className="num">{formatCount(r.requests)}</td>
              <td className="num" data-wei={r.revenueWei}>
                {r.revenueEth}
              </td>
              <td className="num" data-wei={r.partWei ?? ''}>
                {r.partEth ?? '—'}
              </td>
              <td className={r.published ? 'ok' : 'muted'}>{r.published ? 'on chain' : 'not yet'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
