import { ProtocolError } from '@openshard/protocol';
import { cancel, refusal, type CoordinatorEvents, type Effect, type Volunteer } from '../coordinator-io.ts';
import type { LeaseScheduler } from '../scheduler/leases.ts';
import type { TaskKey } from '../training/round-plan.ts';
import type { AcceptOutcome, TaskResult, TrainingRun } from '../training/training-run.ts';
import type { Audit, Author } from './audits.ts';
import { authorOf, identityOf, type Verification } from './verification.ts';

/** What the audit flow needs of the Coordinator. */
export interface AuditPort {
  readonly run: TrainingRun;
  readonly scheduler: LeaseScheduler<TaskKey>;
  readonly volunteers: ReadonlyMap<string, Volunteer>;
  refuse(id: string, e: ProtocolError, leaseId?: string): Effect[];
  /** Credits work: the task log entry, the volunteer's throughput and tally, its `accepted` ack. */
  record(v: Volunteer, task: TaskKey, round: number, taskId: string, leaseId: string, elapsedMs: number): Effect;
  /** Whatever an applied or released result completed: new weights out, the round closed. */
  afterAccept(outcome: AcceptOutcome, now: number): Promise<Effect[]>;
  /** Applies a result that waited outside the model for its audit (if its task is still open), crediting its author. */
  apply(a: Audit, now: number): Promise<Effect[]>;
  /** Back to the start of `round`: every lease and audit cancelled, the rounds trained again. */
  rewind(round: number, cause: string, now: number): Promise<Effect[]>;
}

/**
 * What happens to a result once it is audited (docs/trust.md): an auditor's answer compared, a
 * disagreement or an overdue audit decided by the coordinator's own re-execution, a held result
 * released, a cheat convicted. The Coordinator hands it audit answers and ticks; it returns the
 * effects, like the Coordinator.
 */
export class Auditing {
  constructor(
    private readonly verification: Verification,
    private readonly port: AuditPort,
    private readonly events: Pick<CoordinatorEvents, 'notice' | 'banned'>,
  ) {}

  /**
   * An auditor's re-execution: checked like any result, then compared with the result under
   * audit. Agreement upholds the audited result (applied, or its shard may step) and counts for both;
   * disagreement, and a random fraction of agreements, are decided by the coordinator's own
   * re-execution.
   */
  async answer(v: Volunteer, a: Audit, result: TaskResult, now: number): Promise<Effect[]> {
    const verification = this.verification;
    if (a.auditor?.volunteerId !== v.id) return this.port.refuse(v.id, new ProtocolError('not-leased', `lease ${a.id} was never given to you`), a.id);
    if (this.moot(a)) return this.purge();
    try {
      this.port.run.check(a.task, result);
    } catch (e) {
      verification.audits.unassign(v.id);
      verification.book.suspect(identityOf(v));
      return this.port.refuse(v.id, new ProtocolError('bad-tensor', (e as Error).message), a.id);
    }
    const auditor = { ...a.auditor };
    // an agreement is spot-checked now and then: the auditor may be the author's accomplice
    if (verification.compare(a.result, result).agree && !verification.book.shouldSpotCheck()) {
      verification.counts.agreed += 1;
      verification.book.passed(a.origin.identity, a.round);
      verification.book.passed(auditor.identity, null);
      return [this.credit(v, a, now - auditor.issuedAt), ...(await this.uphold(a, now))];
    }
    return this.decide(a, { author: auditor, result, issuedAt: auditor.issuedAt }, now);
  }

  /**
   * The coordinator re-executes an audited task itself: whoever disagrees with it is banned (and
   * what it touched undone); an audited result that agrees is upheld.
   */
  private async decide(a: Audit, other: { author: Author; result: TaskResult; issuedAt: number } | null, now: number): Promise<Effect[]> {
    const verification = this.verification;
    const truth = await verification.reexecute(this.port.run, a);
    verification.counts.reexecuted += 1;
    const origin = verification.compare(a.result, truth);
    const second = other ? verification.compare(other.result, truth) : null;
    const effects: Effect[] = [];
    if (other && second!.agree) {
      verification.book.passed(other.author.identity, null);
      const v = this.port.volunteers.get(other.author.volunteerId);
      if (v) effects.push(this.credit(v, a, now - other.issuedAt));
    }
    if (origin.agree) {
      verification.book.passed(a.origin.identity, a.round);
      effects.push(...(await this.uphold(a, now)));
    } else {
      verification.audits.close(a);
      // a result waiting outside the model touched nothing; an applied one is undone with the round it is in
      const reason = `its result for ${a.taskId} differs from the coordinator's re-execution (${origin.worst}: relative error ${formatError(origin.error)})`;
      effects.push(...(await this.convict(a.origin, reason, now, a.lease === null ? a.round : null)));
    }
    if (other && !second!.agree) {
      effects.push(...(await this.convict(other.author, `its re-execution of ${a.taskId} differs from the coordinator's (${second!.worst}: relative error ${formatError(second!.error)})`, now, null)));
    }
    return effects;
  }

  /**
   * Drops audits that no longer matter: a newcomer's result whose task another copy completed, or
   * whose round is over, will never be applied (its author earns nothing for it, and is neither
   * cleared nor caught by it). Their auditors are told to cancel.
   */
  purge(): Effect[] {
    return this.verification.audits.drop((a) => this.moot(a)).flatMap((a) => (a.auditor ? [cancel(a.auditor.volunteerId, a.id, `${a.taskId} was done by another copy`)] : []));
  }

  private moot(a: Audit): boolean {
    const { run } = this.port;
    return a.lease !== null && (a.round !== run.round || run.plan.isDone(a.task));
  }

  /** Audits nobody else can take in time, and those whose auditor missed its deadline: the coordinator decides them itself. */
  async overdue(now: number): Promise<Effect[]> {
    const verification = this.verification;
    const effects: Effect[] = this.purge();
    const connected = [...this.port.volunteers.values()].filter((v) => !verification.book.isBanned(identityOf(v))).map((v) => ({ ...authorOf(v), shard: v.shard }));
    for (const a of verification.audits.overdue(connected, now, verification.policy.auditWaitMs)) {
      // decided or voided by an earlier decision in this loop (a rewind clears every audit)
      if (verification.audits.get(a.id) !== a) continue;
      if (a.auditor) effects.push(cancel(a.auditor.volunteerId, a.id, 'the audit is decided without you'));
      effects.push(...(await this.decide(a, null, now)));
    }
    return effects;
  }

  /** The audit is over and the result stands: applied now if it waited, else its shard may step; the round may close. */
  private async uphold(a: Audit, now: number): Promise<Effect[]> {
    this.verification.audits.close(a);
    if (a.lease !== null) return this.port.apply(a, now);
    return this.port.afterAccept(this.port.run.release(a.task), now);
  }

  /** A serving step that differed from the coordinator's: nothing of it entered the model, so nothing is rewound. */
  convictServer(who: Author, reason: string, now: number): Promise<Effect[]> {
    return this.convict(who, reason, now, null);
  }

  /**
   * Caught: the identity is banned (its connections dropped, its unvested work forfeited) and the
   * run goes back to before the first of its results no audit confirmed (and before `applied`, the
   * round of the false result, when that one is in the model).
   */
  private async convict(who: Author, reason: string, now: number, applied: number | null): Promise<Effect[]> {
    const verification = this.verification;
    if (verification.book.isBanned(who.identity)) return applied === null ? [] : this.port.rewind(applied, who.name, now);
    const unconfirmed = verification.book.ban(who.identity);
    const from = unconfirmed === null ? applied : applied === null ? unconfirmed : Math.min(unconfirmed, applied);
    verification.counts.banned += 1;
    const address = who.identity.startsWith('connection:') ? null : who.identity;
    this.events.notice?.('cheat', `${who.name} was caught cheating: ${reason}. It is banned${address ? ` (${address}) and its unvested work is forfeited` : ''}`);
    await this.events.banned?.(who, address, reason);
    const effects: Effect[] = [];
    for (const v of this.port.volunteers.values()) {
      if (identityOf(v) !== who.identity) continue;
      this.port.scheduler.leave(v.id, now);
      verification.audits.unassign(v.id);
      v.accepting = false;
      effects.push(refusal(v.id, new ProtocolError('banned', `banned: ${reason}`)), { to: v.id, type: 'disconnect', reason: 'banned' });
    }
    if (from !== null) effects.push(...(await this.port.rewind(from, who.name, now)));
    return effects;
  }

  /** An auditor's agreeing (or vindicated) re-execution is work too. */
  private credit(v: Volunteer, a: Audit, elapsedMs: number): Effect {
    return this.port.record(v, a.task, a.round, `${a.taskId}/audit/${a.id}`, a.id, elapsedMs);
  }
}

function formatError(e: number): string {
  return Number.isFinite(e) ? e.toPrecision(2) : 'unbounded';
}
