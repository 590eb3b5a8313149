import type { DashboardEventKind, DashboardSnapshot, LiveStats, ValidationPoint } from '@openshard/protocol';
import type { Server } from 'socket.io';
import type { RoundRecord } from '../store/stores.ts';
import { attachDashboard, type DashboardChannel } from './dashboard-namespace.ts';
import { roundPoint } from './snapshot.ts';
import type { Telemetry } from './telemetry.ts';

/**
 * What the dashboards are told, from before the server exists: notices are kept by telemetry
 * (a dashboard connecting later gets the recent ones) and broadcast once the namespace is attached.
 */
export class DashboardFeed {
  private channel: DashboardChannel | null = null;

  constructor(readonly telemetry: Telemetry) {}

  attach(io: Server, snapshot: () => Promise<DashboardSnapshot>): void {
    this.channel = attachDashboard(io, snapshot);
  }

  notice(kind: DashboardEventKind, text: string): void {
    const e = this.telemetry.notice(kind, text, Date.now());
    this.channel?.event(e);
  }

  round(r: RoundRecord): void {
    this.channel?.round(roundPoint(r));
  }

  validation(v: ValidationPoint): void {
    this.channel?.validation(v);
  }

  stats(s: LiveStats): void {
    this.channel?.stats(s);
  }
}
