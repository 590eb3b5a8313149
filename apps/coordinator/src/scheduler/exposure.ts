/** How much of the model one identity may receive. */
export interface ExposurePolicy {
  /** Distinct shards one identity may have received within the window. */
  maxShards: number;
  /** The window (ms). */
  windowMs: number;
}

/** Two shards an hour: a volunteer can be moved once to a shard nobody holds, and never collects the model in a day. */
export const DEFAULT_EXPOSURE: ExposurePolicy = { maxShards: 2, windowMs: 60 * 60_000 };

interface Received {
  /** Versions of the shard's weights sent. */
  versions: number;
  lastVersion: number;
  lastAt: number;
}

/**
 * Which shards' weights each identity (wallet, or connection for anonymous volunteers) has been
 * sent, and which it may be sent: at most `maxShards` distinct shards within the window. Shard
 * choice and rebalancing ask `allows` before they move anyone. Kept in memory: a restarted
 * coordinator starts counting again.
 */
export class ExposureLedger {
  private readonly received = new Map<string, Map<number, Received>>();
  private readonly total: number;

  constructor(
    readonly policy: ExposurePolicy,
    /** Parameters of each shard. */
    private readonly shardParameters: readonly number[],
  ) {
    this.total = shardParameters.reduce((a, b) => a + b, 0);
  }

  /** The identity was sent `version` of `shard`'s weights. */
  sent(identity: string, shard: number, version: number, now: number): void {
    const shards = this.received.get(identity) ?? this.received.set(identity, new Map()).get(identity)!;
    const r = shards.get(shard);
    shards.set(shard, { versions: (r?.versions ?? 0) + 1, lastVersion: version, lastAt: now });
  }

  /** Shards the identity was sent within the window. */
  recent(identity: string, now: number): number[] {
    return [...(this.received.get(identity) ?? new Map<number, Received>())].filter(([, r]) => now - r.lastAt < this.policy.windowMs).map(([s]) => s);
  }

  /** Whether the identity may be sent this shard: one it has already, or a new one within its budget. */
  allows(identity: string, shard: number, now: number): boolean {
    const recent = this.recent(identity, now);
    return recent.includes(shard) || recent.length < this.policy.maxShards;
  }

  /** The largest fraction of all parameters any identity has ever been sent. */
  maxFraction(): number {
    let worst = 0;
    for (const shards of this.received.values()) {
      const seen = [...shards.keys()].reduce((a, s) => a + this.shardParameters[s], 0);
      worst = Math.max(worst, seen / this.total);
    }
    return worst;
  }

  /** The largest fraction of all parameters the budget lets one identity hold within a window. */
  budgetFraction(): number {
    const largest = [...this.shardParameters].sort((a, b) => b - a).slice(0, this.policy.maxShards);
    return largest.reduce((a, b) => a + b, 0) / this.total;
  }
}
