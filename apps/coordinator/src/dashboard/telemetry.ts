import { parameterCount, shardParameterSpecs } from '@openshard/model';
import type { DashboardEvent, DashboardEventKind, LatencyPercentiles, LiveStats, ServingLive } from '@openshard/protocol';
import type { Coordinator } from '../coordinator.ts';
import type { TaskLease } from '../scheduler/leases.ts';
import type { ServerStats } from '../server.ts';

/** Utilisation and latency look back this far (ms). */
export const TELEMETRY_WINDOW_MS = 60_000;
/** Events and stats samples kept in memory for a dashboard that connects later. */
export const MAX_EVENTS = 200;
export const MAX_STATS_SAMPLES = 600;

interface AcceptedSample {
  at: number;
  shard: number;
  computeMs: number;
  latencyMs: number;
}

/** The value at quantile q (0..1) of sorted values, nearest-rank. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new RangeError('quantile of no values');
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/**
 * What the dashboard shows that the store does not keep: recent accepted tasks (for utilisation
 * and latency), the event feed and recent stats samples. Pure: time comes in as `now`.
 */
export class Telemetry {
  private accepted: AcceptedSample[] = [];
  readonly events: DashboardEvent[] = [];
  readonly samples: LiveStats[] = [];

  constructor(private readonly startedAt: number) {}

  taskAccepted(lease: TaskLease, computeMs: number, now: number): void {
    this.accepted.push({ at: now, shard: lease.task.shard, computeMs, latencyMs: now - lease.issuedAt });
  }

  notice(kind: DashboardEventKind, text: string, now: number): DashboardEvent {
    const e = { at: now, kind, text };
    this.events.push(e);
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
    return e;
  }

  /** A stats sample of the coordinator as it is now; kept for dashboards that connect later. */
  sample(c: Coordinator, server: ServerStats, now: number, serving: ServingLive | null = null): LiveStats {
    this.accepted = this.accepted.filter((a) => now - a.at <= TELEMETRY_WINDOW_MS);
    const window = Math.min(TELEMETRY_WINDOW_MS, Math.max(1, now - this.startedAt));
    const { config } = c.run.options;
    const volunteers = [...c.volunteers.values()];
    // a finished run issues nothing: the next round's ready tasks are not a queue
    const load = c.finished ? { queued: c.run.specs.map(() => 0), leased: c.run.specs.map(() => 0) } : c.scheduler.load(c.run.specs.length);
    const shards = c.run.specs.map((spec, i) => {
      const holders = volunteers.filter((v) => v.shard === i).length;
      const busyMs = this.accepted.reduce((a, s) => a + (s.shard === i ? s.computeMs : 0), 0);
      return {
        index: i,
        firstLayer: spec.firstLayer,
        endLayer: spec.endLayer,
        parameters: parameterCount(shardParameterSpecs(config, spec)),
        volunteers: holders,
        utilisation: holders ? Math.min(1, busyMs / (window * holders)) : 0,
        queued: load.queued[i],
        leased: load.leased[i],
        standIn: c.standIn?.computing.includes(i) ?? false,
      };
    });
    const stats: LiveStats = {
      at: now,
      round: c.run.round,
      finished: c.finished,
      volunteers: volunteers.map((v) => ({
        name: v.name,
        backend: v.backend,
        shard: v.shard,
        tasksAccepted: v.tasksAccepted,
        flopsAccepted: v.flopsAccepted,
        busy: c.scheduler.busy(v.id),
        accepting: v.accepting,
      })),
      shards,
      latency: this.latency(),
      bytesIn: server.bytesIn,
      bytesOut: server.bytesOut,
      maxExposure: c.maxExposure(),
      exposureBudget: c.exposure.budgetFraction(),
      verification: c.verification ? { ...c.verification.counts } : null,
      serving,
    };
    this.samples.push(stats);
    if (this.samples.length > MAX_STATS_SAMPLES) this.samples.splice(0, this.samples.length - MAX_STATS_SAMPLES);
    return stats;
  }

  private latency(): LatencyPercentiles | null {
    if (this.accepted.length === 0) return null;
    const sorted = this.accepted.map((a) => a.latencyMs).sort((a, b) => a - b);
    return { p50: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), p99: quantile(sorted, 0.99), samples: sorted.length };
  }
}
