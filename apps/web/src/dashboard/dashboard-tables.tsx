import type { DashboardEvent, ShardLive, VolunteerLive } from '@openshard/protocol';
import { volunteerActivity } from './derive.ts';
import { formatClock, formatCount, formatFlops, formatLayers, formatPercent } from './format.ts';

export function ShardsTable({ shards }: { shards: ShardLive[] }) {
  if (shards.length === 0) return <p className="muted">No stats from the coordinator yet.</p>;
  return (
    <div className="table-scroll">
      <table aria-label="Shards">
        <thead>
          <tr>
            <th>Shard</th>
            <th>Layers</th>
            <th className="num">Parameters</th>
            <th className="num">Volunteers</th>
            <th className="num">Utilisation</th>
            <th className="num">Queued</th>
            <th className="num">Leased</th>
            <th>Trained by</th>
          </tr>
        </thead>
        <tbody>
          {shards.map((s) => (
            <tr key={s.index}>
              <td>{s.index}</td>
              <td>{formatLayers(s.firstLayer, s.endLayer)}</td>
              <td className="num">{formatCount(s.parameters)}</td>
              <td className={s.volunteers === 0 ? 'num bad' : 'num'}>{s.volunteers}</td>
              <td className="num">{formatPercent(s.utilisation)}</td>
              <td className="num">{s.queued}</td>
              <td className="num">{s.leased}</td>
              <td data-testid={`shard-${s.index}-trainer`}>{s.standIn ? 'the coordinator (no training volunteer holds it; earns nothing)' : s.volunteers > 0 ? 'volunteers' : 'nobody yet'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function VolunteersTable({ volunteers }: { volunteers: VolunteerLive[] }) {
  if (volunteers.length === 0) return <p className="muted">No volunteers connected.</p>;
  return (
    <div className="table-scroll">
      <table aria-label="Volunteers">
        <thead>
          <tr>
            <th>Name</th>
            <th>Backend</th>
            <th className="num">Shard</th>
            <th className="num">Tasks accepted</th>
            <th className="num">Work accepted</th>
            <th>Now</th>
          </tr>
        </thead>
        <tbody>
          {volunteers.map((v) => {
            const activity = volunteerActivity(v);
            return (
              <tr key={v.name} data-testid="volunteer-row">
                <td>{v.name}</td>
                <td>{v.backend}</td>
                <td className="num">{v.shard}</td>
                <td className="num">{formatCount(v.tasksAccepted)}</td>
                <td className="num" data-flops={v.flopsAccepted}>
                  {formatFlops(v.flopsAccepted)}
                </td>
                <td className={activity === 'busy' ? 'ok' : activity === 'paused' ? 'muted' : undefined}>{activity}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** Newest first. */
export function EventFeed({ events }: { events: DashboardEvent[] }) {
  return (
    <>
      {events.length === 0 && <p className="muted">Nothing has happened yet.</p>}
      <ol className="log" aria-label="Events">
        {events.map((e, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: events have no id and two may share a millisecond; an item holds no state, so an index that shifts as events are prepended only costs a re-render
          <li key={`${e.at}-${i}`}>
            <time dateTime={new Date(e.at).toISOString()}>{formatClock(e.at)}</time> <span className={`event-kind event-${e.kind}`}>{e.kind}</span> {e.text}
          </li>
        ))}
      </ol>
    </>
  );
}
