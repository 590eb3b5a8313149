import type { Effect } from '../coordinator-io.ts';
import type { TaskLease } from '../scheduler/leases.ts';
import type { TaskKey } from './round-plan.ts';
import type { TaskResult } from './training-run.ts';

/**
 * The coordinator standing in for a shard nobody can train: while at least one volunteer trains,
 * a shard that no accepting volunteer holds (nobody holds it, every holder paused, or its last
 * holder left) for longer than a grace period has its tasks computed by the coordinator itself,
 * on its own copy of the shard. Such work is in the task log under STAND_IN_NAME and earns
 * nobody anything. A holder who accepts tasks again takes the shard back at once.
 */
export interface StandInPolicy {
  /** How long a shard may go uncovered before the coordinator computes it (ms). */
  graceMs: number;
  /** A turn of the coordinator's loop starts no stand-in task after this much compute (ms): messages wait meanwhile. */
  turnMs: number;
}

export const DEFAULT_STAND_IN: StandInPolicy = { graceMs: 5_000, turnMs: 150 };

/** The lease holder's id and the task log's name for the coordinator's own work. */
export const STAND_IN_ID = 'coordinator';
export const STAND_IN_NAME = 'coordinator (stand-in)';

/** What a stand-in turn does through the coordinator. */
export interface StandInPort {
  /** Leases ready tasks of these shards to the stand-in: one per shard at most. */
  lease(shards: readonly number[], now: number): TaskLease<TaskKey>[];
  /** Runs a leased task on the coordinator's own copy of its shard. */
  compute(lease: TaskLease<TaskKey>): Promise<TaskResult>;
  /** Applies the result as the coordinator's own work; returns what it sends out. */
  apply(lease: TaskLease<TaskKey>, result: TaskResult, computeMs: number, now: number): Promise<Effect[]>;
  /** The task could not be computed: its lease goes back, to be issued again. */
  giveBack(lease: TaskLease<TaskKey>, e: Error, now: number): void;
  /** The run is over: nothing more to compute. */
  done(): boolean;
}

/** What the stand-in looks at of a volunteer. */
export interface Holder {
  shard: number;
  accepting: boolean;
}

export class StandIn {
  /** Since when each uncovered shard has been uncovered (ms). */
  private readonly uncovered = new Map<number, number>();
  /** The shards computed on the last look, to tell when that changes. */
  private current: number[] = [];
  /** Since start-up: tasks the coordinator computed, and their FLOPs. */
  readonly counts = { tasks: 0, flops: 0 };

  constructor(readonly policy: StandInPolicy = DEFAULT_STAND_IN) {}

  /**
   * The shards the coordinator computes now: uncovered for at least the grace period, while some
   * volunteer trains (with nobody training there is no pipeline to keep going).
   */
  shards(shardCount: number, holders: Iterable<Holder>, now: number): number[] {
    const covered = new Set<number>();
    for (const h of holders) if (h.accepting) covered.add(h.shard);
    for (let s = 0; s < shardCount; s++) {
      if (covered.has(s)) this.uncovered.delete(s);
      else if (!this.uncovered.has(s)) this.uncovered.set(s, now);
    }
    if (covered.size === 0) return [];
    return [...this.uncovered]
      .filter(([, since]) => now - since >= this.policy.graceMs)
      .map(([s]) => s)
      .sort((a, b) => a - b);
  }

  /**
   * The shards computed now, in plain words for the dashboard's notices when they differ from the
   * last look: which ones the coordinator starts computing, which it stops and why (`training`:
   * whether some volunteer trains).
   */
  announcements(shards: readonly number[], training: boolean): string[] {
    const started = shards.filter((s) => !this.current.includes(s));
    const stopped = this.current.filter((s) => !shards.includes(s));
    this.current = [...shards];
    const list = (s: number[]) => `shard${s.length > 1 ? 's' : ''} ${s.join(', ')}`;
    const why = training ? `a volunteer trains ${stopped.length > 1 ? 'them' : 'it'} again` : 'no volunteer trains at all: the run waits for one';
    return [
      ...(started.length ? [`the coordinator computes ${list(started)}, which no training volunteer holds; this work earns nothing`] : []),
      ...(stopped.length ? [`the coordinator stops computing ${list(stopped)}: ${why}`] : []),
    ];
  }

  /** The shards the coordinator computed on the last look. */
  get computing(): readonly number[] {
    return this.current;
  }

  /**
   * Computes every task of `shards` that is ready, and what they make ready, until the turn's
   * time is spent. A task that fails is given back and ends the turn; what was done stands.
   */
  async turn(port: StandInPort, shards: readonly number[], now: number): Promise<Effect[]> {
    const effects: Effect[] = [];
    const started = performance.now();
    while (!port.done() && performance.now() - started < this.policy.turnMs) {
      const leases = port.lease(shards, now);
      if (!leases.length) break;
      for (const [i, lease] of leases.entries()) {
        const computing = performance.now();
        try {
          const result = await port.compute(lease);
          effects.push(...(await port.apply(lease, result, performance.now() - computing, now)));
        } catch (e) {
          for (const left of leases.slice(i)) port.giveBack(left, e as Error, now);
          return effects;
        }
      }
    }
    return effects;
  }

  computed(flops: number): void {
    this.counts.tasks += 1;
    this.counts.flops += flops;
  }
}
