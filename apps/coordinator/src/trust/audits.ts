import type { TaskKey } from '../training/round-plan.ts';
import type { TaskResult } from '../training/training-run.ts';

/** How many decided audit ids are remembered, to tell a late answer from a forged one. */
const GONE_KEPT = 10_000;

/** Who computed a result. */
export interface Author {
  volunteerId: string;
  identity: string;
  name: string;
}

/** A re-execution of an applied result by someone else, on the same weights. */
export interface Audit {
  /** The lease id the auditor answers with ('A…': never a training lease's). */
  id: string;
  task: TaskKey;
  taskId: string;
  round: number;
  /** The result under audit and who sent it. */
  origin: Author;
  result: TaskResult;
  /**
   * The author's lease while its result waits outside the model for this audit (an identity not
   * yet trusted); null when the result was applied already and is held (a trusted identity's).
   */
  lease: string | null;
  openedAt: number;
  /** Who re-executes it; `answered` once its answer has arrived off the socket (a second one is a replay). */
  auditor: (Author & { issuedAt: number; deadline: number; answered?: boolean }) | null;
}

/**
 * The audits of the current round that have not settled. An audit goes to a volunteer of the
 * same shard that is neither the author's connection nor its identity; one that finds no such
 * volunteer in time, or whose auditor misses its deadline, is `overdue`: the coordinator
 * re-executes the task itself.
 */
export class AuditQueue {
  private readonly open = new Map<string, Audit>();
  /** Audits decided or voided: a late answer to one is an honest race, not a lie (the newest GONE_KEPT ids). */
  private readonly gone = new Set<string>();
  private counter = 0;

  add(task: TaskKey, taskId: string, round: number, origin: Author, result: TaskResult, lease: string | null, now: number): Audit {
    const a: Audit = { id: `A${this.counter++}`, task, taskId, round, origin, result, lease, openedAt: now, auditor: null };
    this.open.set(a.id, a);
    return a;
  }

  get(id: string): Audit | undefined {
    return this.open.get(id);
  }

  /** Audits for idle volunteers (each gets at most one), oldest first; returns what was handed out. */
  assign<V extends Author & { shard: number }>(idle: readonly V[], now: number, deadlineMs: (a: Audit, auditor: V) => number): Audit[] {
    const given: Audit[] = [];
    const free = [...idle];
    for (const a of this.open.values()) {
      if (a.auditor) continue;
      const i = free.findIndex((v) => v.shard === a.task.shard && eligible(a, v));
      if (i < 0) continue;
      const [v] = free.splice(i, 1);
      a.auditor = { volunteerId: v.volunteerId, identity: v.identity, name: v.name, issuedAt: now, deadline: now + deadlineMs(a, v) };
      given.push(a);
    }
    return given;
  }

  /**
   * Audits the coordinator must run itself: unassigned ones nobody connected could take, or that
   * waited longer than `waitMs`, and assigned ones past their deadline.
   */
  overdue(connected: readonly (Author & { shard: number })[], now: number, waitMs: number): Audit[] {
    return [...this.open.values()].filter((a) => {
      if (a.auditor) return a.auditor.deadline <= now;
      return now - a.openedAt >= waitMs || !connected.some((v) => v.shard === a.task.shard && eligible(a, v));
    });
  }

  /** An answer to this audit arrived from this volunteer: true the first time, while the audit is its; false otherwise. */
  claimAnswer(volunteerId: string, id: string): boolean {
    const auditor = this.open.get(id)?.auditor;
    if (auditor?.volunteerId !== volunteerId || auditor.answered) return false;
    auditor.answered = true;
    return true;
  }

  /** The open audit of this author's lease, if its result waits for one. */
  forLease(leaseId: string): Audit | undefined {
    return [...this.open.values()].find((a) => a.lease === leaseId);
  }

  /** The audit is decided: it leaves the queue. */
  close(a: Audit): void {
    this.open.delete(a.id);
    this.forget(a.id);
  }

  /** Audits assigned to a volunteer now. */
  assignedTo(volunteerId: string): Audit[] {
    return [...this.open.values()].filter((a) => a.auditor?.volunteerId === volunteerId);
  }

  /** A volunteer left, gave its audit back or was banned: its audits wait for another auditor. */
  unassign(volunteerId: string): Audit[] {
    const assigned = this.assignedTo(volunteerId);
    for (const a of assigned) a.auditor = null;
    return assigned;
  }

  /** Removes the open audits `moot` says no longer matter (they are gone, as decided ones are) and returns them. */
  drop(moot: (a: Audit) => boolean): Audit[] {
    const dropped = [...this.open.values()].filter(moot);
    for (const a of dropped) this.close(a);
    return dropped;
  }

  /** The round is rewound: every audit is void. Returns them (their auditors are told to cancel). */
  clear(): Audit[] {
    const all = [...this.open.values()];
    for (const a of all) this.forget(a.id);
    this.open.clear();
    return all;
  }

  /** Whether this id was an audit that has been decided or voided since. */
  isGone(id: string): boolean {
    return this.gone.has(id);
  }

  private forget(id: string): void {
    this.gone.add(id);
    if (this.gone.size > GONE_KEPT) this.gone.delete(this.gone.values().next().value!);
  }

  get size(): number {
    return this.open.size;
  }
}

/** Never the author's own connection or identity. */
function eligible(a: Audit, v: Author): boolean {
  return v.volunteerId !== a.origin.volunteerId && v.identity !== a.origin.identity;
}
