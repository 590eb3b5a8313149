import { ProtocolError, type ClientMessage } from '@openshard/protocol';

/** How long a volunteer may take to answer `collect` before the coordinator computes those gradients itself (ms). */
export const COLLECT_WAIT_MS = 10_000;

/** Micro-batches of a shard whose gradients the coordinator must compute itself: their author left, failed or took too long. */
export interface Orphans {
  shard: number;
  microBatches: number[];
}

interface Asked {
  shard: number;
  microBatches: number[];
  since: number;
}

/**
 * Compact traffic: who holds which micro-batch's parameter gradients this round (the volunteer
 * whose backward result was applied), which `collect`s are out, and which gradients nobody will
 * send any more. Pure bookkeeping; the Coordinator sends and computes.
 */
export class GradientCollection {
  /** shard → micro-batch → volunteer id. */
  private authors = new Map<number, Map<number, string>>();
  /** `${volunteer}/${shard}` → what it was asked for. */
  private asked = new Map<string, Asked>();
  /** Shards whose collects went out this round. */
  private started = new Set<number>();

  constructor(private readonly waitMs = COLLECT_WAIT_MS) {}

  /** A backward result of `volunteerId` for micro-batch m of the shard was applied: it keeps those gradients. */
  author(shard: number, m: number, volunteerId: string): void {
    if (!this.authors.has(shard)) this.authors.set(shard, new Map());
    this.authors.get(shard)!.set(m, volunteerId);
  }

  /** A new round, or the same round again after a rewind: nothing is owed. */
  reset(): void {
    this.authors.clear();
    this.asked.clear();
    this.started.clear();
  }

  /**
   * The shard's gradient tasks are all done: what to ask each connected author for (its
   * micro-batches, ascending), and what nobody connected holds. Once per shard and round.
   */
  start(
    shard: number,
    microBatches: number,
    connected: (id: string) => boolean,
    covered: (m: number) => boolean,
    now: number,
  ): { ask: { volunteerId: string; microBatches: number[] }[]; orphans: number[] } {
    if (this.started.has(shard)) return { ask: [], orphans: [] };
    this.started.add(shard);
    const byAuthor = new Map<string, number[]>();
    const orphans: number[] = [];
    for (let m = 0; m < microBatches; m++) {
      const id = this.authors.get(shard)?.get(m);
      if (covered(m)) continue;
      if (id === undefined || !connected(id)) orphans.push(m);
      else byAuthor.set(id, [...(byAuthor.get(id) ?? []), m]);
    }
    const ask = [...byAuthor].map(([volunteerId, microBatches]) => {
      this.asked.set(`${volunteerId}/${shard}`, { shard, microBatches, since: now });
      return { volunteerId, microBatches };
    });
    return { ask, orphans };
  }

  /** A `gradients` message: it must answer a collect out to this volunteer exactly; the collect is then settled. */
  answer(volunteerId: string, m: Omit<ClientMessage<'gradients'>, 'tensors'>, round: number): Asked {
    const asked = this.asked.get(`${volunteerId}/${m.shard}`);
    if (m.round !== round || !asked) {
      // after a rewind, a round's end or the wait: an honest race (the coordinator computed them)
      throw new ProtocolError('stale', `gradients of round ${m.round}, shard ${m.shard} are not asked of you now (the round is ${round})`);
    }
    if (asked.microBatches.join(',') !== [...m.microBatches].sort((a, b) => a - b).join(',')) {
      throw new ProtocolError('bad-message', `gradients of micro-batches [${m.microBatches.join(', ')}], but [${asked.microBatches.join(', ')}] were asked`);
    }
    this.asked.delete(`${volunteerId}/${m.shard}`);
    return asked;
  }

  /** A volunteer left: what it was asked for, or would have been, now has no author. */
  lost(volunteerId: string): Orphans[] {
    const orphans: Orphans[] = [];
    for (const [key, a] of this.asked) {
      if (!key.startsWith(`${volunteerId}/`)) continue;
      this.asked.delete(key);
      orphans.push({ shard: a.shard, microBatches: a.microBatches });
    }
    return orphans;
  }

  /** Collects unanswered for longer than the wait: settled as orphans. */
  overdue(now: number): { volunteerId: string; orphans: Orphans }[] {
    const late: { volunteerId: string; orphans: Orphans }[] = [];
    for (const [key, a] of this.asked) {
      if (now - a.since < this.waitMs) continue;
      this.asked.delete(key);
      late.push({ volunteerId: key.slice(0, key.lastIndexOf('/')), orphans: { shard: a.shard, microBatches: a.microBatches } });
    }
    return late;
  }
}
