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
  /** The most time one turn of the coordinator's loop spends computing (ms): messages wait meanwhile. */
  turnMs: number;
}

export const DEFAULT_STAND_IN: StandInPolicy = { graceMs: 5_000, turnMs: 150 };

/** The lease holder's id and the task log's name for the coordinator's own work. */
export const STAND_IN_ID = 'coordinator';
export const STAND_IN_NAME = 'coordinator (stand-in)';

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

  /** The shards computed now, when they differ from the last look (for a notice); null when unchanged. */
  changed(shards: readonly number[]): { started: number[]; stopped: number[] } | null {
    const started = shards.filter((s) => !this.current.includes(s));
    const stopped = this.current.filter((s) => !shards.includes(s));
    this.current = [...shards];
    return started.length || stopped.length ? { started, stopped } : null;
  }

  /** The shards the coordinator computed on the last look. */
  get computing(): readonly number[] {
    return this.current;
  }

  computed(flops: number): void {
    this.counts.tasks += 1;
    this.counts.flops += flops;
  }
}
