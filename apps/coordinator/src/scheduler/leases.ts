import type { ScheduledTask, TaskGraph } from './task-graph.ts';

export interface SchedulerPolicy {
  /** No lease is shorter than this (ms): covers transfer and a cold start. */
  minDeadlineMs: number;
  /** A lease lasts this many times the task's expected time. */
  deadlineFactor: number;
  /** Expected time of a task before any has been measured (ms). */
  initialEstimateMs: number;
  /** A task out for longer than this many times its expected time gets a backup copy when a volunteer is idle. */
  backupFactor: number;
  /** Copies of one task out at once, the original included. */
  maxCopies: number;
  /** Weight of the newest measurement in the moving average of task times. */
  ewmaWeight: number;
  /**
   * Leases a volunteer holds at once: the task it runs and the next ones, whose inputs reach it
   * while it computes, so the wire never leaves it idle.
   */
  depth: number;
}

export const DEFAULT_POLICY: SchedulerPolicy = {
  minDeadlineMs: 5_000,
  deadlineFactor: 4,
  initialEstimateMs: 30_000,
  backupFactor: 2,
  maxCopies: 2,
  ewmaWeight: 0.3,
  depth: 2,
};

/** An idle slot of a volunteer: `ahead` slots (a task to queue behind the one it runs) take only fresh tasks, never a backup copy. */
export interface Slot {
  id: string;
  shard: number;
  ahead?: boolean;
}

export type LeaseState = 'active' | 'completed' | 'expired' | 'given-back' | 'superseded';

export interface TaskLease<T extends ScheduledTask = ScheduledTask> {
  id: string;
  taskId: string;
  task: T;
  round: number;
  volunteerId: string;
  issuedAt: number;
  /** When the volunteer could start it: at issue, or (queued behind another lease) when the lease ahead ended; null while it waits. */
  startedAt: number | null;
  deadline: number;
  /** A speculative copy of a task another volunteer is still running. */
  backup: boolean;
  state: LeaseState;
  /** A result for it has arrived off the socket (not necessarily handled yet): a second one is not an answer but a replay. */
  answered: boolean;
}

/** What a result for a lease would be, decided before anything is applied. */
export type LeaseStanding<T extends ScheduledTask = ScheduledTask> =
  /** the task is not done: the result may be checked and applied */
  | { kind: 'open'; lease: TaskLease<T> }
  /** this lease's result was accepted already: a replay */
  | { kind: 'replay'; lease: TaskLease<T> }
  /** another copy's result was accepted first; this one is dropped without credit */
  | { kind: 'late'; lease: TaskLease<T> }
  /** a lease of an earlier round */
  | { kind: 'stale' }
  /** no such lease was ever given to this volunteer */
  | { kind: 'not-leased' };

/**
 * Who runs which task of the current round, and until when. Pure: time comes in as `now`
 * (ms), decisions go out as values; sockets and timers live in the server. The first result
 * of a task wins, whether its lease is active, expired or given back: tasks are deterministic,
 * so any valid copy is the same result.
 */
export class LeaseScheduler<T extends ScheduledTask = ScheduledTask> {
  private graph: TaskGraph<T> | null = null;
  private readonly leases = new Map<string, TaskLease<T>>();
  /** Active leases only, by task and by volunteer: what every assignment and tick looks at. */
  private readonly activeByTask = new Map<string, Set<TaskLease<T>>>();
  private readonly activeByVolunteer = new Map<string, Set<TaskLease<T>>>();
  private readonly estimates = new Map<string, number>();
  private counter = 0;
  /** Lease numbers below this belong to earlier rounds. */
  private roundStart = 0;

  constructor(readonly policy: SchedulerPolicy = DEFAULT_POLICY) {}

  /** The graph whose tasks are leased from now on; every lease of the previous one becomes stale. */
  startRound(graph: TaskGraph<T>): void {
    this.graph = graph;
    this.leases.clear();
    this.activeByTask.clear();
    this.activeByVolunteer.clear();
    this.roundStart = this.counter;
  }

  /** Expected wall time of a task of this kind on this shard (ms), from the tasks completed so far. */
  expectedMs(t: ScheduledTask): number {
    return this.estimates.get(`${t.kind}/${t.shard}`) ?? this.policy.initialEstimateMs;
  }

  /** How long a lease of this task lasts (ms): a multiple of its expected time, never below the minimum. */
  deadlineMs(t: ScheduledTask): number {
    return Math.max(this.policy.minDeadlineMs, Math.ceil(this.policy.deadlineFactor * this.expectedMs(t)));
  }

  /**
   * Tasks for idle volunteers, in their order: unleased ready tasks of each one's shard first,
   * then backup copies of stragglers. One pass over the ready tasks, however many volunteers.
   */
  assign(idle: readonly Slot[], now: number): TaskLease<T>[] {
    const graph = this.requireGraph();
    const fresh = new Map<number, T[]>();
    for (const t of graph.ready()) {
      if (this.activeByTask.get(graph.id(t))?.size) continue;
      (fresh.get(t.shard) ?? fresh.set(t.shard, []).get(t.shard)!).push(t);
    }
    const stragglers = new Map<number, T[]>();
    const leases: TaskLease<T>[] = [];
    for (const v of idle) {
      const task = fresh.get(v.shard)?.shift();
      if (task) {
        leases.push(this.issue(graph, task, v.id, now, false));
        continue;
      }
      if (v.ahead) continue;
      if (!stragglers.has(v.shard)) stragglers.set(v.shard, this.stragglers(graph, v.shard, now));
      const copy = stragglers.get(v.shard)!.find((t) => {
        const out = this.activeLeases(graph.id(t));
        return out.length < this.policy.maxCopies && out.every((l) => l.volunteerId !== v.id);
      });
      if (copy) leases.push(this.issue(graph, copy, v.id, now, true));
    }
    return leases;
  }

  /** Ready tasks of a shard out for longer than backupFactor × their expected time. */
  private stragglers(graph: TaskGraph<T>, shard: number, now: number): T[] {
    return graph.ready().filter((t) => {
      if (t.shard !== shard) return false;
      const limit = this.policy.backupFactor * this.expectedMs(t);
      return this.activeLeases(graph.id(t)).some((l) => l.startedAt !== null && now - l.startedAt > limit);
    });
  }

  /**
   * A result for this lease arrived from this volunteer: true the first time, while the
   * volunteer holds it (active, running or queued); false for anything else, a second copy included.
   */
  claimAnswer(volunteerId: string, leaseId: string): boolean {
    const lease = this.leases.get(leaseId);
    if (!lease || lease.volunteerId !== volunteerId || lease.state !== 'active' || lease.answered) return false;
    lease.answered = true;
    return true;
  }

  /** Where a result for this lease from this volunteer stands. Changes nothing. */
  standing(leaseId: string, volunteerId: string): LeaseStanding<T> {
    const graph = this.requireGraph();
    const lease = this.leases.get(leaseId);
    if (!lease) return this.leaseNumber(leaseId) < this.roundStart ? { kind: 'stale' } : { kind: 'not-leased' };
    if (lease.volunteerId !== volunteerId) return { kind: 'not-leased' };
    if (lease.state === 'completed') return { kind: 'replay', lease };
    return graph.isDone(lease.task) ? { kind: 'late', lease } : { kind: 'open', lease };
  }

  /**
   * The graph's owner has applied the lease's result (its task is done): the lease is completed,
   * its time measured, and the other copies of the task still out are superseded and handed back
   * to be cancelled.
   */
  complete(leaseId: string, now: number): TaskLease<T>[] {
    const lease = this.leases.get(leaseId);
    if (!lease) throw new Error(`no lease ${leaseId} in this round`);
    if (!this.requireGraph().isDone(lease.task)) throw new Error(`lease ${leaseId} completed before its task ${lease.taskId} was applied`);
    if (lease.state === 'active') this.settle(lease, 'completed', now);
    else lease.state = 'completed';
    this.measure(lease, now - (lease.startedAt ?? lease.issuedAt));
    const superseded = this.activeLeases(lease.taskId);
    for (const l of superseded) this.settle(l, 'superseded', now);
    return superseded;
  }

  /** The volunteer gives the task back (paused, throttled, closing): it is re-issued at once. */
  giveBack(leaseId: string, volunteerId: string, now: number): TaskLease<T> | null {
    const lease = this.leases.get(leaseId);
    if (!lease || lease.volunteerId !== volunteerId || lease.state !== 'active') return null;
    this.settle(lease, 'given-back', now);
    return lease;
  }

  /** A volunteer disconnected: its active leases are given back. */
  leave(volunteerId: string, now: number): TaskLease<T>[] {
    const givenBack = [...(this.activeByVolunteer.get(volunteerId) ?? [])];
    for (const l of givenBack) this.settle(l, 'given-back', now);
    return givenBack;
  }

  /** Leases past their deadline become expired (their tasks are free to lease again). */
  expire(now: number): TaskLease<T>[] {
    const expired = this.active().filter((l) => l.deadline <= now);
    for (const l of expired) this.settle(l, 'expired', now);
    return expired;
  }

  /** Every lease out now. */
  active(): TaskLease<T>[] {
    return [...this.activeByTask.values()].flatMap((set) => [...set]);
  }

  private activeLeases(taskId: string): TaskLease<T>[] {
    return [...(this.activeByTask.get(taskId) ?? [])];
  }

  /** Per shard: tasks that could run now but wait for a volunteer, and tasks out on a lease. */
  load(shards: number): { queued: number[]; leased: number[] } {
    const graph = this.requireGraph();
    const queued = new Array<number>(shards).fill(0);
    const leased = new Array<number>(shards).fill(0);
    for (const t of graph.ready()) {
      if (this.activeByTask.get(graph.id(t))?.size) leased[t.shard] += 1;
      else queued[t.shard] += 1;
    }
    return { queued, leased };
  }

  /** Whether the volunteer is running a task now. */
  busy(volunteerId: string): boolean {
    return (this.activeByVolunteer.get(volunteerId)?.size ?? 0) > 0;
  }

  /** The volunteer's active leases. */
  leasesOf(volunteerId: string): TaskLease<T>[] {
    return [...(this.activeByVolunteer.get(volunteerId) ?? [])];
  }

  private issue(graph: TaskGraph<T>, task: T, volunteerId: string, now: number, backup: boolean): TaskLease<T> {
    const duration = this.deadlineMs(task);
    // queued behind a lease the volunteer runs: it starts (and its deadline runs) when that one ends
    const queued = this.busy(volunteerId);
    const lease: TaskLease<T> = {
      id: `L${this.counter++}`,
      taskId: graph.id(task),
      task,
      round: graph.round,
      volunteerId,
      issuedAt: now,
      startedAt: queued ? null : now,
      deadline: now + (queued ? 2 : 1) * duration,
      backup,
      state: 'active',
      answered: false,
    };
    this.leases.set(lease.id, lease);
    const add = <K>(m: Map<K, Set<TaskLease<T>>>, k: K) => (m.get(k) ?? m.set(k, new Set()).get(k)!).add(lease);
    add(this.activeByTask, lease.taskId);
    add(this.activeByVolunteer, volunteerId);
    return lease;
  }

  /** An active lease ends; the volunteer's next queued lease starts now, its deadline a whole lease from now. */
  private settle(lease: TaskLease<T>, state: Exclude<LeaseState, 'active'>, now: number): void {
    lease.state = state;
    this.activeByTask.get(lease.taskId)?.delete(lease);
    const own = this.activeByVolunteer.get(lease.volunteerId);
    own?.delete(lease);
    const next = [...(own ?? [])].find((l) => l.startedAt === null);
    if (next && ![...own!].some((l) => l.startedAt !== null)) {
      next.startedAt = now;
      next.deadline = Math.max(next.deadline, now + this.deadlineMs(next.task));
    }
  }

  private measure(lease: TaskLease<T>, elapsedMs: number): void {
    const key = `${lease.task.kind}/${lease.task.shard}`;
    const old = this.estimates.get(key);
    const w = this.policy.ewmaWeight;
    this.estimates.set(key, old === undefined ? elapsedMs : (1 - w) * old + w * elapsedMs);
  }

  private leaseNumber(id: string): number {
    const n = /^L(\d+)$/.exec(id);
    return n ? Number(n[1]) : Infinity;
  }

  private requireGraph(): TaskGraph<T> {
    if (!this.graph) throw new Error('no round has started');
    return this.graph;
  }
}
