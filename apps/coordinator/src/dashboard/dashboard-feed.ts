import type { DashboardEventKind, DashboardSnapshot, LiveStats, ReferencePoint, RoundPoint, RunInfo, ValidationPoint } from '@openshard/protocol';
import type { Server } from 'socket.io';
import type { RoundRecord, RunStore } from '../store/stores.ts';
import { attachDashboard, type DashboardChannel } from './dashboard-namespace.ts';
import { roundPoint } from './snapshot.ts';
import type { Telemetry } from './telemetry.ts';

/**
 * What the dashboards are told. The run's curves are read from the store once, at start-up, and
 * kept here as they grow, so a dashboard's snapshot is taken synchronously at connection: no live
 * update can fall between the history it is sent and the updates that follow. Notices are kept by
 * telemetry (a dashboard connecting later gets the recent ones) and broadcast once attached.
 */
export class DashboardFeed {
  private channel: DashboardChannel | null = null;
  private rounds: RoundPoint[] = [];
  private validations: ValidationPoint[] = [];

  constructor(readonly telemetry: Telemetry) {}

  /** The run's history as the store has it (after any rollback), before anything is appended. */
  async load(store: RunStore, runId: string): Promise<void> {
    this.rounds.push(...(await store.rounds(runId)).map(roundPoint));
    this.validations.push(...(await store.metrics(runId, 'validationLoss')).map((m) => ({ round: m.round, loss: m.value, at: m.at })));
  }

  attach(io: Server, info: RunInfo, reference: ReferencePoint[] | null): void {
    this.channel = attachDashboard(io, () => this.snapshot(info, reference));
  }

  snapshot(info: RunInfo, reference: ReferencePoint[] | null): DashboardSnapshot {
    return { run: info, rounds: [...this.rounds], validation: [...this.validations], reference, events: [...this.telemetry.events], stats: [...this.telemetry.samples] };
  }

  notice(kind: DashboardEventKind, text: string): void {
    const e = this.telemetry.notice(kind, text, Date.now());
    this.channel?.event(e);
  }

  round(r: RoundRecord): void {
    const p = roundPoint(r);
    this.rounds.push(p);
    this.channel?.round(p);
  }

  validation(v: ValidationPoint): void {
    this.validations.push(v);
    this.channel?.validation(v);
  }

  /**
   * Rounds from `round` on are trained again: their points go (a round's point is numbered by the
   * rounds completed, a validation by the rounds before it), and every dashboard is sent the history anew.
   */
  rewind(round: number): void {
    this.rounds = this.rounds.filter((p) => p.round <= round);
    this.validations = this.validations.filter((p) => p.round < round);
    this.channel?.resync();
  }

  stats(s: LiveStats): void {
    this.channel?.stats(s);
  }
}
