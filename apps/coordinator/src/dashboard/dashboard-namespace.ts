import { DASHBOARD_NAMESPACE, type DashboardEvent, type DashboardSnapshot, type LiveStats, type RoundPoint, type ValidationPoint } from '@openshard/protocol';
import type { Server } from 'socket.io';

/** Broadcasts to every connected dashboard. */
export interface DashboardChannel {
  round(r: RoundPoint): void;
  validation(v: ValidationPoint): void;
  event(e: DashboardEvent): void;
  stats(s: LiveStats): void;
  /** Every dashboard gets the whole history again (it replaces what they hold): after a rewind. */
  resync(): void;
}

/**
 * The researchers' namespace: each dashboard gets the run's history on connection, then live
 * updates. It is read-only: a dashboard that sends anything is told so and disconnected, and
 * nothing it sent is looked at. The snapshot is synchronous, so no update falls between it and
 * the live ones.
 */
export function attachDashboard(io: Server, snapshot: () => DashboardSnapshot): DashboardChannel {
  const ns = io.of(DASHBOARD_NAMESPACE);
  ns.on('connection', (socket) => {
    socket.emit('snapshot', snapshot());
    socket.onAny((type: unknown) => {
      const name = typeof type === 'string' ? type.slice(0, 64) : typeof type;
      socket.emit('refused', { code: 'read-only', message: `the dashboard namespace accepts no events; received '${name}'` });
      socket.disconnect(true);
    });
  });
  return {
    round: (r) => ns.emit('round', r),
    validation: (v) => ns.emit('validation', v),
    event: (e) => ns.emit('event', e),
    stats: (s) => ns.emit('stats', s),
    resync: () => ns.emit('snapshot', snapshot()),
  };
}
