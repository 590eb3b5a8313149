import { DASHBOARD_NAMESPACE, type DashboardEvent, type DashboardSnapshot, type LiveStats, type RoundPoint, type ValidationPoint } from '@openshard/protocol';
import type { Server } from 'socket.io';

/** Broadcasts to every connected dashboard. */
export interface DashboardChannel {
  round(r: RoundPoint): void;
  validation(v: ValidationPoint): void;
  event(e: DashboardEvent): void;
  stats(s: LiveStats): void;
}

/** Dashboards that have their snapshot: only they receive live updates, so none arrives before the history it extends. */
const LIVE_ROOM = 'live';

/**
 * The researchers' namespace: each dashboard gets the run's history on connection, then live
 * updates. It is read-only: a dashboard that sends anything is told so and disconnected, and
 * nothing it sent is looked at.
 */
export function attachDashboard(io: Server, snapshot: () => Promise<DashboardSnapshot>): DashboardChannel {
  const ns = io.of(DASHBOARD_NAMESPACE);
  ns.on('connection', (socket) => {
    socket.onAny((type: unknown) => {
      const name = typeof type === 'string' ? type.slice(0, 64) : typeof type;
      socket.emit('refused', { code: 'read-only', message: `the dashboard namespace accepts no events; received '${name}'` });
      socket.disconnect(true);
    });
    void snapshot().then(
      (s) => {
        if (!socket.connected) return;
        socket.emit('snapshot', s);
        socket.join(LIVE_ROOM);
      },
      (e: Error) => console.error('dashboard snapshot:', e),
    );
  });
  const live = ns.to(LIVE_ROOM);
  return {
    round: (r) => live.emit('round', r),
    validation: (v) => live.emit('validation', v),
    event: (e) => live.emit('event', e),
    stats: (s) => live.emit('stats', s),
  };
}
