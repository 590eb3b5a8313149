import { describeLayers } from '@openshard/model/shard-spec';
import { recentRates, si } from './recent-rates.ts';
import type { WorkerState } from './use-volunteer-worker.ts';

/** What the volunteer is doing: its shard, its task, what it serves with, its throughput and its recent events. */
export function VolunteerStatus({ state }: { state: WorkerState }) {
  const s = state.stats;
  const rates = recentRates(state.samples);
  const connection = state.phase === 'failed' ? 'failed' : (s?.connection ?? 'starting');
  const states = [connection, ...(s?.finished ? ['run complete'] : []), ...(s?.paused ? ['paused'] : [])];
  const stat = (label: string, value: string, testid: string, extra: Record<string, string> = {}) => (
    <div className="stat">
      <span className="label">{label}</span>
      <span className="value" data-testid={testid} {...extra}>
        {value}
      </span>
    </div>
  );
  return (
    <>
      <section className="panel grid" aria-label="Volunteer status">
        {stat('Volunteer', state.name ?? '—', 'status-name')}
        {stat('Connection', states.join(', '), 'status-connection')}
        {stat('Backend', state.adapter ? `${state.backend} · ${state.adapter}` : '—', 'status-backend')}
        {stat('Shard', s?.shard == null ? 'none yet' : `${s.shard} (${describeLayers(...s.layers!)})`, 'status-shard')}
        {stat('Serving', servingText(state), 'status-serving', { 'data-backend': state.serving?.event.type === 'serving' ? state.serving.event.backend : '' })}
        {stat('Served', `${state.served.positions.toLocaleString('en-US')} positions in ${state.served.steps.toLocaleString('en-US')} generation steps`, 'status-served', {
          'data-positions': String(state.served.positions),
        })}
        {stat('Shard size', s?.parameters ? `${s.parameters.toLocaleString('en-US')} parameters, ${((s.parameters * 4) / 2 ** 20).toFixed(2)} MiB` : '—', 'status-shard-size')}
        {stat('Working on', s?.task ? `${s.task.kind}, round ${s.task.round}, micro-batch ${s.task.microBatch}` : s?.finished ? 'nothing: the run is complete' : 'nothing', 'status-task', {
          'data-task': s?.task ? JSON.stringify({ ...s.task, shard: s.shard }) : '',
        })}
        {stat('Tasks done', String(s?.tasksDone ?? 0), 'status-tasks-done')}
        {stat('Tasks accepted', String(s?.tasksAccepted ?? 0), 'status-tasks-accepted')}
        {stat('Work accepted', `${si(s?.flopsAccepted ?? 0)}FLOP`, 'status-work-accepted', { 'data-flops': String(s?.flopsAccepted ?? 0) })}
        {stat('GPU busy', s ? `${(s.busyMs / 1000).toFixed(1)} s${rates ? ` (${Math.round(rates.busyFraction * 100)}% lately)` : ''}` : '—', 'status-busy')}
        {stat('Throughput', rates ? `${si(rates.flopsPerSecond)}FLOP/s · ${rates.tasksPerMinute.toFixed(1)} tasks/min` : '—', 'status-throughput')}
      </section>
      {state.failure && (
        <p className="bad" role="alert">
          {state.failure}
        </p>
      )}
      {state.serving?.event.type === 'serving-failed' && (
        <p className="bad" data-testid="serving-failure">
          {state.serving.text}
        </p>
      )}
      <h2>Recent events</h2>
      <ol className="log" aria-label="Volunteer events">
        {state.log.map((e, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: entries have no id and two may share a millisecond; an item holds no state, so an index that shifts as entries are prepended only costs a re-render
          <li key={`${e.at}-${i}`} data-kind={e.kind}>
            <span className="muted">{new Date(e.at).toLocaleTimeString('en-GB')}</span> {e.text}
          </li>
        ))}
      </ol>
    </>
  );
}

function servingText(state: WorkerState): string {
  const serving = state.serving;
  // the coordinator offers a holder its shard of the served model once there is one (a committed checkpoint)
  if (!serving) return 'nothing yet';
  return serving.event.type === 'serving' ? serving.text : 'not serving (see below)';
}
