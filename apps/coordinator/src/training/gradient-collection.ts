import { ProtocolError, type ClientMessage } from '@openshard/protocol';

/**
 * How long a volunteer may take to answer `collect` before the coordinator computes those
 * gradients itself: 10 s, plus a second for every megabyte of the sum (a 1 MB/s uplink).
 */
export function collectWaitMs(sumBytes: number): number {
  return 10_000 + sumBytes / 1_000;
}

/** Micro-batches of a shard whose gradients the coordinator must compute itself: their author left, failed or took too long. */
export interface Orphans {
  shard: number;
  microBatches: number[];
}

interface Asked {
  shard: number;
  microBatches: number[];
  /** When the coordinator stops waiting for the answer. */
  until: number;
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
  /** `${volunteer}/${shard}` of collects answered, given up on or lost this round: a late answer is an honest race. */
  private settled = new Set<string>();

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
    this.settled.clear();
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
    /** When to stop waiting for the answers. */
    until: number,
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
      this.asked.set(`${volunteerId}/${shard}`, { shard, microBatches, until });
      return { volunteerId, microBatches };
    });
    return { ask, orphans };
  }

  /** A `gradients` message: it must answer a collect out to this volunteer exactly; the collect is then settled. */
  answer(volunteerId: string, m: Omit<ClientMessage<'gradients'>, 'tensors'>, round: number): Asked {
    const key = `${volunteerId}/${m.shard}`;
    const asked = this.asked.get(key);
    // after a rewind, a round's end or the wait: an honest race (the coordinator computed them)
    if (m.round < round || (m.round === round && this.settled.has(key)))
      throw new ProtocolError('stale', `gradients of round ${m.round}, shard ${m.shard} are no longer needed (the round is ${round})`);
    if (m.round !== round || !asked) throw new ProtocolError('not-leased', `gradients of round ${m.round}, shard ${m.shard} were never asked of you`);
    if (asked.microBatches.join(',') !== [...m.microBatches].sort((a, b) => a - b).join(',')) {
      throw new ProtocolError('bad-message', `gradients of micro-batches [${m.microBatches.join(', ')}], but [${asked.microBatches.join(', ')}] were asked`);
    }
    this.asked.delete(key);
    this.settled.add(key);
    return asked;
  }

  /**
   * A volunteer left or moved to another shard (its kept gradients are gone): what it was asked
   * for now has no author, and neither has what it would have been asked for.
   */
  lost(volunteerId: string): Orphans[] {
    for (const byMicroBatch of this.authors.values()) {
      for (const [m, id] of byMicroBatch) if (id === volunteerId) byMicroBatch.delete(m);
    }
    const orphans: Orphans[] = [];
    for (const [key, a] of this.asked) {
      if (!key.startsWith(`${volunteerId}/`)) continue;
      this.asked.delete(key);
      this.settled.add(key);
      orphans.push({ shard: a.shard, microBatches: a.microBatches });
    }
    return orphans;
  }

  /** Collects unanswered past their wait: settled as orphans. */
  overdue(now: number): { volunteerId: string; orphans: Orphans }[] {
    const late: { volunteerId: string; orphans: Orphans }[] = [];
    for (const [key, a] of this.asked) {
      if (now < a.until) continue;
      this.asked.delete(key);
      this.settled.add(key);
      late.push({ volunteerId: key.slice(0, key.lastIndexOf('/')), orphans: { shard: a.shard, microBatches: a.microBatches } });
    }
    return late;
  }
}
