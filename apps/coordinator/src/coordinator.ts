import { parameterCount, shardParameterSpecs, shardRoundFlops } from '@openshard/model';
import { PROTOCOL_VERSION, ProtocolError, TRAFFIC, type ClientMessage, type WireTensor } from '@openshard/protocol';
import { cancel, refusal, type CoordinatorEvents, type Effect, type SessionVerifier, type Volunteer } from './coordinator-io.ts';
import { chooseShard } from './scheduler/assignment.ts';
import { DEFAULT_EXPOSURE, ExposureLedger, type ExposurePolicy } from './scheduler/exposure.ts';
import type { LeaseScheduler, TaskLease } from './scheduler/leases.ts';
import { GradientFlow } from './training/gradient-flow.ts';
import { RoundLog } from './training/round-log.ts';
import type { TaskKey } from './training/round-plan.ts';
import { STAND_IN_ID, STAND_IN_NAME, type StandIn, type StandInPort } from './training/stand-in.ts';
import type { AcceptOutcome, TaskResult, TrainingRun } from './training/training-run.ts';
import type { Audit } from './trust/audits.ts';
import { Auditing } from './trust/auditing.ts';
import { authorOf, identityOf, type Verification } from './trust/verification.ts';
import { executeTask } from '@openshard/volunteer';

export type { CoordinatorEvents, Effect, NoticeKind, SessionVerifier, Volunteer } from './coordinator-io.ts';

/** Refused messages a connection may send before it is disconnected. */
export const MAX_REFUSALS = 5;

/**
 * What the coordinator decides, without sockets or timers: who holds which shard, which task
 * goes to whom, what a result does. Every entry point takes the current time and returns the
 * messages to send.
 */
export class Coordinator {
  readonly volunteers = new Map<string, Volunteer>();
  /** Which shards each identity has been sent, and may be. */
  readonly exposure: ExposureLedger;
  private readonly shardWork: number[];
  /** Tasks accepted in the current round, committed with it. */
  private readonly roundLog: RoundLog;
  /** The audit flow, when results are verified. */
  private readonly auditing: Auditing | null;
  /** Compact traffic: gradients kept by volunteers, collected, checked, or computed here. */
  private readonly gradientFlow: GradientFlow;

  constructor(
    readonly run: TrainingRun,
    readonly scheduler: LeaseScheduler<TaskKey>,
    readonly runId: string,
    private readonly events: CoordinatorEvents = {},
    /** No task of this round or later is issued: the run is over. */
    readonly lastRound = Infinity,
    /** Without one, no session is accepted and nobody accrues shares. */
    private readonly sessions: SessionVerifier | null = null,
    /** Audits, trust and bans; without it every well-formed result is taken as it is. */
    readonly verification: Verification | null = null,
    exposure: ExposurePolicy = DEFAULT_EXPOSURE,
    /** Computes the shards no accepting volunteer holds; without it such a shard waits for a volunteer. */
    readonly standIn: StandIn | null = null,
  ) {
    const { config, batch } = run.options;
    this.shardWork = run.specs.map((s) => shardRoundFlops(config, s, batch, config.contextLength));
    this.roundLog = new RoundLog(run);
    this.auditing = verification
      ? new Auditing(
          verification,
          {
            run,
            scheduler,
            volunteers: this.volunteers,
            refuse: (id, e, leaseId) => this.refuse(id, e, leaseId),
            record: (v, task, round, taskId, leaseId, elapsedMs) => this.record(v, task, round, taskId, leaseId, elapsedMs),
            afterAccept: (outcome, now) => this.afterAccept(outcome, now),
            apply: (a, now) => this.applyAudited(a, now),
            rewind: (round, cause, now) => this.rewind(round, cause, now),
          },
          events,
        )
      : null;
    this.gradientFlow = new GradientFlow(
      {
        run,
        volunteers: this.volunteers,
        verification,
        auditing: this.auditing,
        refuse: (id, e, counted) => this.refuse(id, e, undefined, counted),
        uncredit: (id, shard, microBatches) => this.uncredit(id, shard, microBatches),
        afterAccept: (outcome, now) => this.afterAccept(outcome, now),
        pump: (now) => this.pump(now),
      },
      events,
    );
    this.exposure = new ExposureLedger(
      exposure,
      run.specs.map((s) => parameterCount(shardParameterSpecs(config, s))),
    );
    scheduler.startRound(run.plan);
  }

  async hello(id: string, m: ClientMessage<'hello'>, now: number): Promise<Effect[]> {
    if (m.protocol !== PROTOCOL_VERSION) {
      return [refusal(id, new ProtocolError('version', `protocol version ${m.protocol} is not ${PROTOCOL_VERSION}; update the volunteer`)), { to: id, type: 'disconnect', reason: 'protocol version' }];
    }
    if (this.volunteers.has(id)) return [refusal(id, new ProtocolError('bad-message', 'hello was already received on this connection'))];
    let address: string | null = null;
    if (m.session !== undefined) {
      try {
        if (!this.sessions) throw new Error('this coordinator has no sign-in');
        address = this.sessions.addressOf(m.session);
      } catch (e) {
        // refused rather than silently anonymous: the owner would contribute without earning
        return [refusal(id, new ProtocolError('session', `session refused: ${(e as Error).message} (or contribute without a wallet)`)), { to: id, type: 'disconnect', reason: 'session refused' }];
      }
    }
    if (address && this.verification?.book.isBanned(address)) {
      this.events.notice?.('refused', `${m.name} (${address}) tried to rejoin, but that address is banned for cheating`);
      return [refusal(id, new ProtocolError('banned', `${address} is banned: work it sent was found false`)), { to: id, type: 'disconnect', reason: 'banned' }];
    }
    if (this.verification) await this.run.keepSnapshot(this.verification.snapshotsKept);
    const identity = identityOf({ id, address });
    // a paused holder serves nobody: its shard is as open as one nobody holds
    const training = [...this.volunteers.values()].filter((w) => w.accepting);
    const shard = chooseShard(this.shardWork, training, (s) => this.exposure.allows(identity, s, now));
    const v: Volunteer = {
      id,
      name: m.name,
      backend: m.backend,
      shard,
      readyVersion: null,
      throughput: null,
      tasksAccepted: 0,
      flopsAccepted: 0,
      accepting: true,
      refusals: 0,
      address,
      sent: null,
    };
    this.volunteers.set(id, v);
    this.events.notice?.('join', `${v.name} joined (${v.backend}${m.adapter ? `, ${m.adapter}` : ''}) and holds shard ${shard}`);
    const { config, shards, batch } = this.run.options;
    const welcome: Effect = { to: id, type: 'welcome', message: { protocol: PROTOCOL_VERSION, volunteerId: id, run: { id: this.runId, config, shards, batch, traffic: this.run.traffic } } };
    return [welcome, await this.weightsFor(v, now), ...(this.finished ? [this.finishedMessage(id)] : this.pump(now))];
  }

  ready(id: string, m: ClientMessage<'ready'>, now: number): Effect[] {
    const v = this.volunteers.get(id);
    if (!v) return this.unknown(id);
    const current = this.run.shards[v.shard].version;
    if (m.shard !== v.shard || m.version > current) {
      return this.refuse(id, new ProtocolError('bad-message', `ready for shard ${m.shard} version ${m.version}, but you hold shard ${v.shard} whose latest version is ${current}`));
    }
    v.readyVersion = m.version;
    return this.pump(now);
  }

  /**
   * A task's result: refused unless its lease is open (a replay, a stolen or stale lease are
   * refused; a copy that lost the race is dropped). A trusted identity's is then checked and
   * applied by the run (held for an audit now and then), credited, and followed by whatever it
   * completed: shards stepped (new weights out), the round closed. Anyone else's waits outside
   * the model until an audit confirms it.
   */
  async result(id: string, m: ClientMessage<'result'>, tensors: WireTensor[], now: number): Promise<Effect[]> {
    const v = this.volunteers.get(id);
    if (!v) return this.unknown(id);
    const verification = this.verification;
    // a result already on its way when its sender was banned
    if (verification?.book.isBanned(identityOf(v))) return this.refuse(id, new ProtocolError('banned', 'this volunteer is banned: its results are not taken'), m.leaseId);
    const result: TaskResult = { tensors, loss: m.loss };
    const audit = verification?.audits.get(m.leaseId);
    if (audit) return [...(await this.auditing!.answer(v, audit, result, now)), ...this.pump(now)];
    const standing = this.scheduler.standing(m.leaseId, id);
    // a result overtaken by a round's end, a rewind or a decided audit is an honest race: refused, but not held against the sender
    if (standing.kind === 'stale' || verification?.audits.isGone(m.leaseId)) {
      return this.refuse(id, new ProtocolError('stale', `lease ${m.leaseId} belongs to an earlier round, a round trained again, or an audit already decided`), m.leaseId, false);
    }
    if (standing.kind === 'not-leased') return this.refuse(id, new ProtocolError('not-leased', `lease ${m.leaseId} was never given to you`), m.leaseId);
    if (standing.kind === 'replay' || verification?.audits.forLease(m.leaseId)) {
      return this.refuse(id, new ProtocolError('duplicate', `lease ${m.leaseId} was already answered: a replay earns nothing`), m.leaseId);
    }
    if (standing.kind === 'late') return this.pump(now); // it was sent a cancel: dropped, no credit
    const { lease } = standing;
    try {
      this.run.check(lease.task, result);
    } catch (e) {
      // the task goes back to the pool at once rather than waiting out the lease
      this.scheduler.giveBack(m.leaseId, id, now);
      verification?.book.suspect(identityOf(v));
      return [...this.refuse(id, new ProtocolError('bad-tensor', (e as Error).message), m.leaseId), ...this.pump(now)];
    }
    // compact traffic's shard-0 backward result carries nothing: there is nothing to audit, and its gradient sum is checked instead
    const auditable = result.tensors.length > 0 || result.loss !== undefined;
    if (verification && auditable && verification.book.level(identityOf(v)) !== 'trusted') {
      verification.audits.add(lease.task, lease.taskId, lease.round, authorOf(v), result, lease.id, now);
      verification.counts.audits += 1;
      return [...(await this.auditing!.overdue(now)), ...this.pump(now)];
    }
    const audited = auditable && (verification?.book.shouldAudit(identityOf(v)) ?? false);
    const outcome = this.run.accept(lease.task, result, audited);
    this.gradientFlow.keptBy(lease.task, v.id);
    const effects: Effect[] = this.scheduler.complete(m.leaseId, now).map((l) => this.cancel(l, 'another copy finished first'));
    effects.push(this.credit(v, lease, now - (lease.startedAt ?? lease.issuedAt), now));
    if (verification && auditable) {
      verification.book.applied(identityOf(v), lease.round);
      if (audited) {
        verification.audits.add(lease.task, lease.taskId, lease.round, authorOf(v), result, null, now);
        verification.counts.audits += 1;
      }
    }
    effects.push(...(await this.afterAccept(outcome, now)));
    return [...effects, ...((await this.auditing?.overdue(now)) ?? []), ...this.pump(now)];
  }

  /** A result that waited outside the model for its audit, confirmed: applied if its task is still open (another copy may have been applied meanwhile). */
  private async applyAudited(a: Audit, now: number): Promise<Effect[]> {
    const standing = this.scheduler.standing(a.lease!, a.origin.volunteerId);
    if (standing.kind !== 'open') return [];
    const { lease } = standing;
    const outcome = this.run.accept(lease.task, a.result);
    this.gradientFlow.keptBy(lease.task, a.origin.volunteerId);
    // the task's time is the author's, not the audit's
    const effects: Effect[] = this.scheduler.complete(lease.id, a.openedAt).map((l) => this.cancel(l, 'another copy finished first'));
    const v = this.volunteers.get(a.origin.volunteerId);
    if (v) effects.push(this.credit(v, lease, a.openedAt - (lease.startedAt ?? lease.issuedAt), now));
    return [...effects, ...(await this.afterAccept(outcome, now))];
  }

  /**
   * Back to the start of `round` (or the earliest round still kept): every lease and audit is
   * cancelled, the rounds from there on are forgotten and trained again, every holder gets the
   * restored weights.
   */
  private async rewind(round: number, cause: string, now: number): Promise<Effect[]> {
    const verification = this.verification!;
    if (this.finished) {
      // its volunteers were told the run is over and have stopped training: nothing would train it again
      this.events.notice?.('rewind', `the run is complete: rounds from ${round} on are not trained again after ${cause}'s conviction (its unvested work is forfeited)`);
      return [];
    }
    const target = this.run.rewindTarget(round);
    if (target === null) return [];
    const effects: Effect[] = this.scheduler.active().map((l) => this.cancel(l, 'the round is trained again'));
    for (const a of verification.audits.clear()) if (a.auditor) effects.push(cancel(a.auditor.volunteerId, a.id, 'the round is trained again'));
    const from = this.run.round;
    this.run.rewind(target);
    this.gradientFlow.reset();
    const pending = this.roundLog.take();
    verification.book.forgetFrom(target);
    const early = target > round ? ` (round ${round} is older than any kept state; results of ${cause} before round ${target} stay)` : '';
    this.events.notice?.('rewind', `rounds ${target}–${from} are trained again from the state before ${cause}'s first unconfirmed result${early}`);
    await this.events.rewound?.(target, pending);
    this.scheduler.startRound(this.run.plan);
    for (const v of this.volunteers.values()) if (!verification.book.isBanned(identityOf(v))) effects.push(await this.weightsFor(v, now));
    return effects;
  }

  /**
   * The volunteer earns the task's work units; its throughput and the round's task log are
   * updated. Time is what the coordinator saw (issue to result), never what the volunteer says.
   */
  private credit(v: Volunteer, lease: TaskLease<TaskKey>, elapsedMs: number, now: number): Effect {
    if (lease.backup) this.events.notice?.('backup', `${v.name}'s backup copy of ${lease.taskId} finished first`);
    this.events.taskAccepted?.(lease, elapsedMs, now);
    return this.record(v, lease.task, lease.round, lease.taskId, lease.id, elapsedMs);
  }

  private record(v: Volunteer, task: TaskKey, round: number, taskId: string, leaseId: string, elapsedMs: number): Effect {
    const flops = this.roundLog.credit(v, task, { round, taskId, leaseId }, elapsedMs);
    return { to: v.id, type: 'accepted', message: { leaseId, round, flops } };
  }

  /** Takes back the credit of a volunteer's gradient tasks of this round (the round's log is not committed yet). */
  private uncredit(volunteerId: string, shard: number, microBatches: readonly number[]): void {
    const v = this.volunteers.get(volunteerId);
    if (v) this.roundLog.uncredit(v, shard, microBatches);
  }

  /**
   * Serving work (`positions` of a generation through `shard`) is credited like a task: in the
   * log of the round that closes next, as kind 'serve'.
   */
  creditServing(volunteerId: string, shard: number, positions: number, elapsedMs: number, taskId: string): void {
    const v = this.volunteers.get(volunteerId);
    if (v && positions >= 1) this.roundLog.serving(v, shard, positions, elapsedMs, taskId);
  }

  /** A server whose output differed from the coordinator's re-execution: caught like any cheat. */
  async convictServer(volunteerId: string, reason: string, now: number): Promise<Effect[]> {
    const v = this.volunteers.get(volunteerId);
    if (!v || !this.auditing) return [];
    return this.auditing.convictServer(authorOf(v), reason, now);
  }

  /** Compact traffic: a volunteer's sum of the gradients it kept, answering `collect` (GradientFlow). */
  async gradients(id: string, m: ClientMessage<'gradients'>, tensors: WireTensor[], now: number): Promise<Effect[]> {
    const v = this.volunteers.get(id);
    return v ? this.gradientFlow.answer(v, m, tensors, now) : this.unknown(id);
  }

  /** New weights to the holders of every shard that stepped; a closed round is committed before the next one is leased. */
  private async afterAccept(outcome: AcceptOutcome, now: number): Promise<Effect[]> {
    const effects: Effect[] = [];
    await this.run.commitSteps();
    for (const s of outcome.stepped) {
      for (const w of this.volunteers.values()) if (w.shard === s) effects.push(await this.weightsFor(w, now));
    }
    if (!outcome.closed) effects.push(...(await this.gradientFlow.due(now)));
    if (outcome.closed) {
      this.gradientFlow.reset();
      await this.events.roundClosed?.(outcome.closed, this.roundLog.take());
      this.scheduler.startRound(this.run.plan);
      if (this.verification) await this.run.keepSnapshot(this.verification.snapshotsKept);
      if (this.finished) for (const v of this.volunteers.values()) effects.push(this.finishedMessage(v.id));
    }
    return effects;
  }

  /** Tells a volunteer the run is over: nothing more to train (serving goes on). */
  private finishedMessage(id: string): Effect {
    const round = this.run.round;
    return { to: id, type: 'finished', message: { round, message: `the run is complete after ${round} rounds; nothing more to train` } };
  }

  giveBack(id: string, m: ClientMessage<'giveBack'>, now: number): Effect[] {
    const v = this.volunteers.get(id);
    if (!v) return this.unknown(id);
    // an audit given back waits for another auditor
    if (this.verification?.audits.get(m.leaseId)?.auditor?.volunteerId === id) this.verification.audits.unassign(id);
    const lease = this.scheduler.giveBack(m.leaseId, id, now);
    if (lease) this.events.notice?.('reissue', `${v.name} gave back ${lease.taskId} (${m.reason}); it is re-issued`);
    return this.pump(now);
  }

  /** A volunteer pauses or resumes; pausing does not give back a task it is running (it sends giveBack for that). */
  availability(id: string, m: ClientMessage<'availability'>, now: number): Effect[] {
    const v = this.volunteers.get(id);
    if (!v) return this.unknown(id);
    v.accepting = m.accepting;
    return this.pump(now);
  }

  async disconnect(id: string, now: number): Promise<Effect[]> {
    const v = this.volunteers.get(id);
    const givenBack = this.scheduler.leave(id, now);
    this.verification?.audits.unassign(id);
    this.volunteers.delete(id);
    if (v) {
      const tasks = givenBack.map((l) => l.taskId).join(', ');
      this.events.notice?.('leave', `${v.name} left${givenBack.length ? `; ${tasks} ${givenBack.length > 1 ? 'are' : 'is'} re-issued` : ''}`);
    }
    const effects: Effect[] = [];
    effects.push(...(await this.gradientFlow.lost(id, now)));
    return [...effects, ...(await this.rebalance(now)), ...this.pump(now)];
  }

  /**
   * A shard nobody holds stalls every round: move a volunteer to it from the shard with the most
   * volunteers (preferring one that is idle), if that shard keeps at least one and the volunteer's
   * exposure budget allows it.
   */
  private async rebalance(now: number): Promise<Effect[]> {
    const effects: Effect[] = [];
    for (let s = 0; s < this.run.specs.length; s++) {
      const holders = (shard: number) => [...this.volunteers.values()].filter((v) => v.shard === shard);
      if (holders(s).length > 0) continue;
      const donorShard = this.run.specs.map((_, i) => i).sort((a, b) => holders(b).length - holders(a).length)[0];
      const donors = holders(donorShard);
      // only a volunteer whose exposure budget lets it receive this shard may move
      const candidates = donors.filter((v) => this.exposure.allows(identityOf(v), s, now));
      if (donors.length < 2 || candidates.length === 0) continue;
      const mover = candidates.find((v) => !this.scheduler.busy(v.id)) ?? candidates[candidates.length - 1];
      for (const l of this.scheduler.leave(mover.id, now)) effects.push(this.cancel(l, `you now hold shard ${s}`));
      // its new weights clear the gradients it kept of its old shard: computed here instead
      effects.push(...(await this.gradientFlow.lost(mover.id, now)));
      mover.shard = s;
      this.events.notice?.('rebalance', `${mover.name} moves from shard ${donorShard} to shard ${s}, which nobody held`);
      effects.push(await this.weightsFor(mover, now));
    }
    return effects;
  }

  /** Expires overdue leases and hands their tasks (and backup copies of stragglers) to idle volunteers. */
  async tick(now: number): Promise<Effect[]> {
    const expired = this.scheduler.expire(now);
    for (const l of expired) this.events.notice?.('reissue', `${this.volunteers.get(l.volunteerId)?.name ?? l.volunteerId}'s lease on ${l.taskId} expired; it is re-issued`);
    const effects = expired.map((l) => this.cancel(l, 'the lease expired'));
    effects.push(...(await this.gradientFlow.overdue(now)));
    effects.push(...((await this.auditing?.overdue(now)) ?? []), ...(await this.standInTurn(now)));
    return [...effects, ...this.pump(now)];
  }

  /**
   * The coordinator computes ready tasks of the shards no accepting volunteer holds (after the
   * stand-in's grace period), for about one turn's time. Its results are its own: applied
   * without an audit, logged under STAND_IN_NAME, credited to nobody.
   */
  private async standInTurn(now: number): Promise<Effect[]> {
    const standIn = this.standIn;
    if (!standIn || this.finished) return [];
    const shards = standIn.shards(this.run.specs.length, this.volunteers.values(), now);
    this.announceStandIn(standIn, shards);
    return shards.length ? standIn.turn(this.standInPort(), shards, now) : [];
  }

  private standInPort(): StandInPort {
    return {
      lease: (shards, now) =>
        this.scheduler.assign(
          shards.map((shard) => ({ id: STAND_IN_ID, shard })),
          now,
        ),
      compute: (lease) => {
        const inputs = this.run.inputs(lease.task);
        return executeTask(this.run.shards[lease.task.shard].shard, lease.task.kind, inputs.tensors, inputs.lossScale);
      },
      apply: async (lease, result, computeMs, now) => {
        const outcome = this.gradientFlow.applyOwn(lease.task, result);
        // timed by the coordinator's own compute, so the shard's expected task time stays meaningful
        const effects = this.scheduler.complete(lease.id, now + computeMs).map((l) => this.cancel(l, 'the coordinator computed it'));
        this.standIn!.computed(this.roundLog.log(lease.task, { round: lease.round, taskId: lease.taskId, leaseId: lease.id }, { name: STAND_IN_NAME, address: null }, computeMs));
        return [...effects, ...(await this.afterAccept(outcome, now))];
      },
      giveBack: (lease, e, now) => {
        this.scheduler.giveBack(lease.id, STAND_IN_ID, now);
        this.events.notice?.('stand-in', `the coordinator could not compute ${lease.taskId} (${e.message.slice(0, 160)}); it is re-issued`);
      },
      done: () => this.finished,
    };
  }

  private announceStandIn(standIn: StandIn, shards: number[]): void {
    const training = [...this.volunteers.values()].some((v) => v.accepting);
    for (const text of standIn.announcements(shards, training)) this.events.notice?.('stand-in', text);
  }

  /**
   * Whether a message off a socket is the first answer to a task or audit its volunteer holds now
   * (read before parsing: nothing else of it is trusted). Such an answer is not flooding: a fast
   * honest volunteer sends one per task it is given. A second copy is a replay, counted like any
   * message; so is a compact gradient sum (one per round).
   */
  awaits(id: string, type: string, json: unknown): boolean {
    if (type !== 'result' || typeof json !== 'object' || json === null) return false;
    const { leaseId } = json as { leaseId?: unknown };
    if (typeof leaseId !== 'string') return false;
    return (this.verification?.audits.claimAnswer(id, leaseId) ?? false) || this.scheduler.claimAnswer(id, leaseId);
  }

  /** A message refused: told to its sender; past MAX_REFUSALS counted ones, the connection is dropped. */
  refuse(id: string, e: ProtocolError, leaseId?: string, counted = true): Effect[] {
    const v = this.volunteers.get(id);
    const effects: Effect[] = [refusal(id, e, leaseId)];
    const count = v ? (counted ? ++v.refusals : v.refusals) : MAX_REFUSALS + 1;
    this.tell(id, e);
    if (count > MAX_REFUSALS) effects.push({ to: id, type: 'disconnect', reason: `more than ${MAX_REFUSALS} refused messages` });
    return effects;
  }

  /** The socket edge cut a connection off (a flood): the refusal went out with it; the dashboard and /metrics hear of it here. */
  cutOff(id: string, e: ProtocolError): Effect[] {
    this.tell(id, e);
    return [];
  }

  private tell(id: string, e: ProtocolError): void {
    this.events.refused?.(e.code);
    this.events.notice?.('refused', `refused a message from ${this.volunteers.get(id)?.name ?? id} (${e.code}): ${e.message.slice(0, 160)}`);
  }

  /** The largest fraction of all parameters any identity has been sent. */
  maxExposure(): number {
    return this.exposure.maxFraction();
  }

  get finished(): boolean {
    return this.run.round >= this.lastRound;
  }

  /**
   * Hands out work to volunteers with a free slot (`depth`: the task a volunteer runs and the one
   * queued behind it, whose inputs arrive while it computes): audits first, at most one each,
   * those computing nothing first (an audit holds a shard's step back); then the scheduler's tasks,
   * one to run for each idle volunteer, then one to queue for each with a slot left.
   */
  private pump(now: number): Effect[] {
    const effects: Effect[] = this.auditing?.purge() ?? [];
    if (this.finished) return effects;
    const verification = this.verification;
    const depth = this.scheduler.policy.depth;
    const ready = [...this.volunteers.values()].filter((v) => v.accepting && v.readyVersion === this.run.shards[v.shard].version);
    const audits = new Map(ready.map((v) => [v, verification?.audits.assignedTo(v.id).length ?? 0]));
    // leases and audits each holds, counted once (computing scans the open audits)
    const held = new Map(ready.map((v) => [v, this.computing(v) + audits.get(v)!]));
    // those computing nothing first: an audit holds its shard's step back, so it goes where it runs soonest
    const byLoad = ready.sort((a, b) => held.get(a)! - held.get(b)!);
    if (verification) {
      // an audit may wait behind a full queue: given only to a free slot, it would rarely reach a volunteer
      const candidates = byLoad.filter((v) => audits.get(v) === 0 && held.get(v)! <= depth).map((v) => ({ ...authorOf(v), shard: v.shard, ahead: held.get(v)! }));
      // an audit queued behind a volunteer's leases starts when they end: its deadline counts them, as a queued lease's does
      for (const a of verification.audits.assign(candidates, now, (x, c) => (1 + c.ahead) * this.scheduler.deadlineMs(x.task))) {
        const v = this.volunteers.get(a.auditor!.volunteerId)!;
        held.set(v, held.get(v)! + 1);
        effects.push(this.taskMessage(v, a.id, a.task, a.round, a.auditor!.deadline, now));
      }
    }
    const free = byLoad.filter((v) => held.get(v)! < depth);
    const idle = free.filter((v) => held.get(v) === 0);
    const ahead = free.flatMap((v) => Array.from({ length: depth - Math.max(1, held.get(v)!) }, () => ({ id: v.id, shard: v.shard, ahead: true })));
    for (const lease of this.scheduler.assign([...idle, ...ahead], now)) {
      const v = this.volunteers.get(lease.volunteerId)!;
      if (lease.backup) this.events.notice?.('backup', `${lease.taskId} is slow: a backup copy goes to ${v.name}`);
      effects.push(this.taskMessage(v, lease.id, lease.task, lease.round, lease.deadline, now));
    }
    return effects;
  }

  /** Leases the volunteer is computing or will compute next: one whose result already came and waits for its audit does not count. */
  private computing(v: Volunteer): number {
    const audits = this.verification?.audits;
    return this.scheduler.leasesOf(v.id).filter((l) => !audits?.forLease(l.id)).length;
  }

  private taskMessage(v: Volunteer, leaseId: string, task: TaskKey, round: number, deadline: number, now: number): Effect {
    const inputs = this.run.inputs(task);
    return {
      to: v.id,
      type: 'task',
      tensors: inputs.tensors,
      message: {
        leaseId,
        kind: task.kind,
        shard: task.shard,
        round,
        microBatch: task.microBatch,
        version: this.run.shards[v.shard].version,
        deadlineMs: deadline - now,
        lossScale: inputs.lossScale,
        ...(task.kind !== 'forward' && TRAFFIC[this.run.traffic].keepGradients ? { keepGradients: true } : {}),
        tensors: [],
      },
    };
  }

  private async weightsFor(v: Volunteer, now: number): Promise<Effect> {
    const state = this.run.shards[v.shard];
    this.exposure.sent(identityOf(v), v.shard, state.version, now);
    v.readyVersion = null;
    const update = state.update;
    // a holder of the version before gets the update: the weights sent after it, in order, are what it holds
    const held = v.sent?.shard === v.shard ? v.sent.version : null;
    v.sent = { shard: v.shard, version: state.version };
    if (update && held === update.from) {
      const tensors: WireTensor[] = state.shard.parameters.map((p) => ({ name: p.name, dtype: 'f32', shape: p.shape, data: update.values.get(p.name)!, codec: update.codec }));
      return { to: v.id, type: 'weights', message: { shard: state.spec, version: state.version, base: update.from, tensors: [] }, tensors };
    }
    const values = await state.valuesCached();
    const tensors: WireTensor[] = state.shard.parameters.map((p) => ({ name: p.name, dtype: 'f32', shape: p.shape, data: values.get(p.name)! }));
    return { to: v.id, type: 'weights', message: { shard: state.spec, version: state.version, tensors: [] }, tensors };
  }

  private cancel(l: TaskLease, reason: string): Effect {
    return cancel(l.volunteerId, l.id, reason);
  }

  private unknown(id: string): Effect[] {
    return this.refuse(id, new ProtocolError('bad-message', 'send hello first'));
  }
}
