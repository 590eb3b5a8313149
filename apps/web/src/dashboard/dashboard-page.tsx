import type { LiveStats, RoundPoint, RunInfo, ValidationPoint } from '@openshard/protocol';
import { checkpointRefreshKey } from './checkpoint.ts';
import { CheckpointPanel } from './dashboard-checkpoint.tsx';
import { lossSummary, roundsCompleted, servingSummary, tokensTrained, validationSummary, verificationSummary } from './derive.ts';
import { formatCount, formatPercent, shortRunId } from './format.ts';
import { LatencyChart, LossChart, ThroughputChart, TrafficChart } from './dashboard-charts.tsx';
import { EventFeed, ShardsTable, VolunteersTable } from './dashboard-tables.tsx';
import { useLatestCheckpoint } from './use-checkpoint.ts';
import { type Connection, useDashboard } from './use-dashboard.ts';
import './dashboard.css';

// never "disconnected": the end-to-end test looks for the word "connected"
const CONNECTION_TEXT: Record<Connection, string> = {
  connecting: 'connecting…',
  connected: 'connected',
  reconnecting: 'reconnecting…',
  closed: 'closed by the coordinator',
};

/** The researchers' view of the run: progress, the latest checkpoint, curves, throughput, shards, volunteers and events, live. */
export function DashboardPage() {
  const d = useDashboard();
  const latest = d.stats.at(-1);
  const volunteers = latest?.volunteers ?? [];
  const checkpoint = useLatestCheckpoint(checkpointRefreshKey(d.run?.id ?? null, d.connection === 'connected', d.events));

  return (
    <section className="dashboard">
      <h1>Dashboard</h1>
      <p>
        Coordinator:{' '}
        <span data-testid="dashboard-connection" className={d.connection === 'connected' ? 'ok' : 'bad'}>
          {CONNECTION_TEXT[d.connection]}
        </span>
      </p>
      {d.problem && (
        <p className="bad" role="alert">
          {d.problem}
        </p>
      )}
      {!d.run ? (
        <p className="muted">Waiting for the run's history from the coordinator…</p>
      ) : (
        <>
          <RunSummary run={d.run} rounds={d.rounds} validation={d.validation} latest={latest} />
          <CheckpointPanel run={d.run} rounds={d.rounds} validation={d.validation} latest={checkpoint} stats={latest} />
          <div className="dashboard-charts">
            <LossChart rounds={d.rounds} validation={d.validation} reference={d.reference} unigramEntropy={d.run.unigramEntropy} />
            <ThroughputChart rounds={d.rounds} />
            <LatencyChart stats={d.stats} />
            <TrafficChart stats={d.stats} />
          </div>
          <h2>Shards</h2>
          <ShardsTable shards={latest?.shards ?? []} />
        </>
      )}
      <h2>
        Volunteers (<span data-testid="volunteer-count">{volunteers.length}</span>)
      </h2>
      <VolunteersTable volunteers={volunteers} />
      <h2>Events</h2>
      <EventFeed events={d.events} />
    </section>
  );
}

interface RunSummaryProps {
  run: RunInfo;
  rounds: RoundPoint[];
  validation: ValidationPoint[];
  latest: LiveStats | undefined;
}

function RunSummary({ run, rounds, validation, latest }: RunSummaryProps) {
  const loss = lossSummary(rounds);
  const validated = validationSummary(validation);
  const stat = (label: string, value: string, title?: string) => (
    <div className="stat" title={title}>
      <span className="label">{label}</span>
      <span className="value">{value}</span>
    </div>
  );
  return (
    <>
      <section className="panel grid" aria-label="Run">
        {stat('Run', shortRunId(run.id), run.id)}
        {stat('Preset', `${run.preset} · ${formatCount(run.parameters)} parameters`)}
        {stat('Shards', String(run.shards))}
        {stat('Batch', `${run.batch} × ${run.microBatches} micro-batches`)}
        {stat('Round', `${roundsCompleted(rounds, latest)} / ${run.rounds}${latest?.finished ? ' (finished)' : ''}`)}
        {stat('Tokens trained', formatCount(tokensTrained(rounds)))}
        {stat('Largest share of the model any volunteer has seen', latest ? `${formatPercent(latest.maxExposure)} (budget ${formatPercent(latest.exposureBudget)})` : '—')}
        {stat('Verification', verificationSummary(latest?.verification))}
        {stat('Serving', servingSummary(latest?.serving))}
      </section>
      <p className="loss-summary">
        {loss ? <span data-testid="loss-summary">{loss}</span> : <span className="muted">No round has closed yet.</span>}
        {validated && (
          <>
            {' '}
            · <span data-testid="validation-summary">{validated}</span>
          </>
        )}
      </p>
    </>
  );
}
