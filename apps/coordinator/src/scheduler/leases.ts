import type { RoundPlan, TaskKey } from './round-plan.ts';

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
}

export const DEFAULT_POLICY: SchedulerPolicy = {
  minDeadlineMs: 5_000,
  deadlineFactor: 4,
  initialEstimateMs: 30_000,
  backupFactor: 2,
  maxCopies: 2,
  ewmaWeight: 0.3,
};

export type LeaseState = 'active' | 'completed' | 'expired' | 'given-back' | 'superseded';

export interface TaskLease {
  id: string;
  taskId: string;
  task: TaskKey;
  round: number;
  volunteerId: string;
  issuedAt: number;
  deadline: number;
  /** A speculative copy of a task another volunteer is still running. */
  backup: boolean;
  state: LeaseState;
}

export type SubmitOutcome =
  | { kind: 'accepted'; lease: TaskLease; /** other copies of the task, to cancel */ superseded: TaskLease[] }
  /** another copy's result was accepted first; this one is dropped */
  | { kind: 'duplicate'; lease: TaskLease }
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
export class LeaseScheduler {
  private plan: RoundPlan | null = null;
  private readonly leases = new Map<string, TaskLease>();
  /** Active leases only, by task and by volunteer: what every request and tick looks at. */
  private readonly activeByTask = new Map<string, Set<TaskLease>>();
  private readonly activeByVolunteer = new Map<string, Set<TaskLease>>();
  private readonly estimates = new Map<string, number>();
  private counter = 0;
  /** Lease numbers below this belong to earlier rounds. */
  private roundStart = 0;

  constructor(readonly policy: SchedulerPolicy = DEFAULT_POLICY) {}

  startRound(plan: RoundPlan): void {
    this.plan = plan;
    this.leases.clear();
    this.activeByTask.clear();
    this.activeByVolunteer.clear();
    this.roundStart = this.counter;
  }

  /** Expected wall time of a task of this kind on this shard (ms), from the tasks completed so far. */
  expectedMs(t: Pick<TaskKey, 'kind' | 'shard'>): number {
    return this.estimates.get(`${t.kind}/${t.shard}`) ?? this.policy.initialEstimateMs;
  }

  /** The next task for a volunteer holding `shard`: an unleased ready task, else a backup copy of a straggler. */
  request(volunteerId: string, shard: number, now: number): TaskLease | null {
    return this.assign([{ id: volunteerId, shard }], now)[0] ?? null;
  }

  /**
   * Tasks for idle volunteers, in their order: unleased ready tasks of each one's shard first,
   * then backup copies of stragglers. One pass over the ready tasks, however many volunteers.
   */
  assign(idle: readonly { id: string; shard: number }[], now: number): TaskLease[] {
    const plan = this.requirePlan();
    const fresh = new Map<number, TaskKey[]>();
    for (const t of plan.ready()) {
      if (this.activeByTask.get(plan.id(t))?.size) continue;
      (fresh.get(t.shard) ?? fresh.set(t.shard, []).get(t.shard)!).push(t);
    }
    const stragglers = new Map<number, TaskKey[]>();
    const leases: TaskLease[] = [];
    for (const v of idle) {
      const task = fresh.get(v.shard)?.shift();
      if (task) {
        leases.push(this.issue(plan, task, v.id, now, false));
        continue;
      }
      if (!stragglers.has(v.shard)) stragglers.set(v.shard, this.stragglers(plan, v.shard, now));
      const copy = stragglers.get(v.shard)!.find((t) => {
        const out = this.activeLeases(plan.id(t));
        return out.length < this.policy.maxCopies && out.every((l) => l.volunteerId !== v.id);
      });
      if (copy) leases.push(this.issue(plan, copy, v.id, now, true));
    }
    return leases;
  }

  /** Ready tasks of a shard out for longer than backupFactor × their expected time. */
  private stragglers(plan: RoundPlan, shard: number, now: number): TaskKey[] {
    return plan.ready().filter((t) => {
      if (t.shard !== shard) return false;
      const limit = this.policy.backupFactor * this.expectedMs(t);
      return this.activeLeases(plan.id(t)).some((l) => now - l.issuedAt > limit);
    });
  }

  submit(leaseId: string, volunteerId: string, now: number): SubmitOutcome {
    const plan = this.requirePlan();
    const lease = this.leases.get(leaseId);
    if (!lease) return this.leaseNumber(leaseId) < this.roundStart ? { kind: 'stale' } : { kind: 'not-leased' };
    if (lease.volunteerId !== volunteerId) return { kind: 'not-leased' };
    if (plan.isDone(lease.task)) {
      if (lease.state === 'active') this.settle(lease, 'superseded');
      return { kind: 'duplicate', lease };
    }
    plan.complete(lease.task);
    const superseded = this.recordAccepted(lease.id, now);
    return { kind: 'accepted', lease, superseded };
  }

  /**
   * The lease's result has been applied by the caller (its task is done in the plan): the lease
   * is completed, its time measured, and the other copies of the task still out are superseded
   * (returned, to be cancelled).
   */
  recordAccepted(leaseId: string, now: number): TaskLease[] {
    const lease = this.leases.get(leaseId);
    if (!lease) throw new Error(`no lease ${leaseId} in this round`);
    if (lease.state === 'active') this.settle(lease, 'completed');
    else lease.state = 'completed';
    this.measure(lease, now - lease.issuedAt);
    const superseded = this.activeLeases(lease.taskId);
    for (const l of superseded) this.settle(l, 'superseded');
    return superseded;
  }

  /** The volunteer gives the task back (paused, throttled, closing): it is re-issued at once. */
  giveBack(leaseId: string, volunteerId: string): TaskLease | null {
    const lease = this.leases.get(leaseId);
    if (!lease || lease.volunteerId !== volunteerId || lease.state !== 'active') return null;
    this.settle(lease, 'given-back');
    return lease;
  }

  /** A volunteer disconnected: its active leases are given back. */
  leave(volunteerId: string): TaskLease[] {
    const returned = [...(this.activeByVolunteer.get(volunteerId) ?? [])];
    for (const l of returned) this.settle(l, 'given-back');
    return returned;
  }

  /** Leases past their deadline become expired (their tasks are free to lease again). */
  expire(now: number): TaskLease[] {
    const expired = [...this.activeByTask.values()].flatMap((set) => [...set]).filter((l) => l.deadline <= now);
    for (const l of expired) this.settle(l, 'expired');
    return expired;
  }

  /** The earliest deadline of an active lease, for the server's timer; null if none is out. */
  nextDeadline(): number | null {
    let next: number | null = null;
    for (const set of this.activeByTask.values()) for (const l of set) if (next === null || l.deadline < next) next = l.deadline;
    return next;
  }

  lease(leaseId: string): TaskLease | undefined {
    return this.leases.get(leaseId);
  }

  activeLeases(taskId: string): TaskLease[] {
    return [...(this.activeByTask.get(taskId) ?? [])];
  }

  /** Per shard: tasks that could run now but wait for a volunteer, and tasks out on a lease. */
  load(shards: number): { queued: number[]; leased: number[] } {
    const plan = this.requirePlan();
    const queued = new Array<number>(shards).fill(0);
    const leased = new Array<number>(shards).fill(0);
    for (const t of plan.ready()) {
      if (this.activeByTask.get(plan.id(t))?.size) leased[t.shard] += 1;
      else queued[t.shard] += 1;
    }
    return { queued, leased };
  }

  /** Whether the volunteer is running a task now. */
  busy(volunteerId: string): boolean {
    return (this.activeByVolunteer.get(volunteerId)?.size ?? 0) > 0;
  }

  private issue(plan: RoundPlan, task: TaskKey, volunteerId: string, now: number, backup: boolean): TaskLease {
    const duration = Math.max(this.policy.minDeadlineMs, Math.ceil(this.policy.deadlineFactor * this.expectedMs(task)));
    const lease: TaskLease = {
      id: `L${this.counter++}`, taskId: plan.id(task), task, round: plan.round, volunteerId,
      issuedAt: now, deadline: now + duration, backup, state: 'active',
    };
    this.leases.set(lease.id, lease);
    const add = <K>(m: Map<K, Set<TaskLease>>, k: K) => (m.get(k) ?? m.set(k, new Set()).get(k)!).add(lease);
    add(this.activeByTask, lease.taskId);
    add(this.activeByVolunteer, volunteerId);
    return lease;
  }

  /** An active lease ends. */
  private settle(lease: TaskLease, state: Exclude<LeaseState, 'active'>): void {
    lease.state = state;
    this.activeByTask.get(lease.taskId)?.delete(lease);
    this.activeByVolunteer.get(lease.volunteerId)?.delete(lease);
  }

  private measure(lease: TaskLease, elapsedMs: number): void {
    const key = `${lease.task.kind}/${lease.task.shard}`;
    const old = this.estimates.get(key);
    const w = this.policy.ewmaWeight;
    this.estimates.set(key, old === undefined ? elapsedMs : (1 - w) * old + w * elapsedMs);
  }

  private leaseNumber(id: string): number {
    const n = /^L(\d+)$/.exec(id);
    return n ? Number(n[1]) : Infinity;
  }

  private requirePlan(): RoundPlan {
    if (!this.plan) throw new Error('no round has started');
    return this.plan;
  }
}
