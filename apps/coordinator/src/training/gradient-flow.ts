import { parameterCount } from '@openshard/model';
import { BOUNDARY_TENSORS, ProtocolError, TRAFFIC, type ClientMessage, type WireTensor } from '@openshard/protocol';
import type { CoordinatorEvents, Effect, Volunteer } from '../coordinator-io.ts';
import type { Auditing } from '../trust/auditing.ts';
import { authorOf, identityOf, type Verification } from '../trust/verification.ts';
import { collectWaitMs, GradientCollection, type Orphans } from './gradient-collection.ts';
import type { TaskKey } from './round-plan.ts';
import type { AcceptOutcome, TaskResult, TrainingRun } from './training-run.ts';

/** What the gradient flow needs of the Coordinator. */
export interface GradientPort {
  readonly run: TrainingRun;
  readonly volunteers: ReadonlyMap<string, Volunteer>;
  readonly verification: Verification | null;
  readonly auditing: Auditing | null;
  refuse(id: string, e: ProtocolError, counted: boolean): Effect[];
  /** Takes back the credit for these gradient tasks of this round: their gradients never reached the model from their author. */
  uncredit(volunteerId: string, shard: number, microBatches: readonly number[]): void;
  /** Whatever an applied result completed: new weights out, the round closed. */
  afterAccept(outcome: AcceptOutcome, now: number): Promise<Effect[]>;
  pump(now: number): Effect[];
}

/**
 * Compact traffic's parameter gradients (docs/traffic.md): volunteers keep them; when a shard's
 * gradient tasks are all done each author is asked for its sum (`collect`); a sum is checked
 * against the coordinator's own whenever its author would be audited; sums nobody will send are
 * computed here. In exact traffic every method does nothing.
 */
export class GradientFlow {
  private readonly collection = new GradientCollection();

  constructor(
    private readonly port: GradientPort,
    private readonly events: Pick<CoordinatorEvents, 'notice'>,
  ) {}

  private get compact(): boolean {
    return TRAFFIC[this.port.run.traffic].keepGradients;
  }

  /** The volunteer whose backward result was applied keeps that micro-batch's gradients. */
  keptBy(task: TaskKey, volunteerId: string): void {
    if (task.kind !== 'forward' && this.compact) this.collection.author(task.shard, task.microBatch, volunteerId);
  }

  /** A new round, or a rewind: nothing is owed. */
  reset(): void {
    this.collection.reset();
  }

  /**
   * A volunteer's sum of the gradients it kept, answering `collect`. Checked against the
   * coordinator's own sum whenever its results would be audited (always while it is new); a
   * false sum is a conviction, and the coordinator's own sum is used instead.
   */
  async answer(v: Volunteer, m: ClientMessage<'gradients'>, tensors: WireTensor[], now: number): Promise<Effect[]> {
    const { run, verification } = this.port;
    try {
      this.collection.answer(v.id, m, run.round);
    } catch (e) {
      const error = e as ProtocolError;
      return this.port.refuse(v.id, error, error.code !== 'stale');
    }
    const asked: Orphans = { shard: m.shard, microBatches: m.microBatches };
    const identity = identityOf(v);
    const checked = verification !== null && (verification.book.level(identity) !== 'trusted' || verification.book.shouldAudit(identity));
    if (checked) {
      const own = await run.gradientSum(m.shard, m.microBatches);
      const agreement = verification.compareSums({ tensors }, { tensors: own });
      verification.counts.reexecuted += 1;
      if (!agreement.agree) {
        const reason = `its gradients of round ${m.round}, shard ${m.shard} differ from the coordinator's (${agreement.worst}: error ${agreement.error.toExponential(2)})`;
        const rewinds = run.rewinds;
        const effects = await this.port.auditing!.convictServer(authorOf(v), reason, now);
        // a conviction may rewind the run, even to this very round: then these gradients belong to nothing
        return run.rewinds === rewinds ? [...effects, ...(await this.compute(asked, now))] : effects;
      }
      verification.book.passed(identity, null);
    } else verification?.book.applied(identity, m.round);
    let outcome: AcceptOutcome;
    try {
      outcome = run.addGradients(m.shard, m.microBatches, tensors);
    } catch (e) {
      this.withheld(v, asked);
      return [...this.port.refuse(v.id, new ProtocolError('bad-tensor', (e as Error).message), true), ...(await this.compute(asked, now))];
    }
    return [...(await this.port.afterAccept(outcome, now)), ...this.port.pump(now)];
  }

  /** Asks the authors of each shard whose gradient tasks are all done for their sums; computes what nobody connected holds. */
  async due(now: number): Promise<Effect[]> {
    const { run, volunteers } = this.port;
    const effects: Effect[] = [];
    const round = run.round;
    for (let s = 0; s < run.specs.length && run.round === round; s++) {
      if (!run.gradientsDue(s)) continue;
      // a q8 sum is about a byte per parameter
      const sumBytes = parameterCount(run.shards[s].shard.parameters);
      const { ask, orphans } = this.collection.start(
        s,
        run.options.microBatches,
        (id) => volunteers.has(id),
        (m) => run.hasGradients(s, m),
        now + collectWaitMs(sumBytes),
      );
      for (const a of ask) effects.push({ to: a.volunteerId, type: 'collect', message: { round, shard: s, microBatches: a.microBatches } });
      if (orphans.length) effects.push(...(await this.compute({ shard: s, microBatches: orphans }, now)));
    }
    return effects;
  }

  /** A volunteer left, or moved to another shard: the gradients it kept are computed here (its credit stands: it did the work). */
  async lost(volunteerId: string, now: number): Promise<Effect[]> {
    const effects: Effect[] = [];
    for (const o of this.collection.lost(volunteerId)) effects.push(...(await this.compute(o, now)));
    return effects;
  }

  /** Collects unanswered past the wait: computed here. */
  async overdue(now: number): Promise<Effect[]> {
    const effects: Effect[] = [];
    for (const late of this.collection.overdue(now)) {
      const v = this.port.volunteers.get(late.volunteerId);
      this.events.notice?.('stand-in', `${v?.name ?? late.volunteerId} did not send its gradients of shard ${late.orphans.shard} in time: they earn it nothing`);
      if (v) this.withheld(v, late.orphans);
      effects.push(...(await this.compute(late.orphans, now)));
    }
    return effects;
  }

  /** A result the coordinator computed itself (the stand-in's): in compact traffic its gradients are added at once, as no volunteer keeps them. */
  applyOwn(task: TaskKey, result: TaskResult): AcceptOutcome {
    const { run } = this.port;
    if (task.kind === 'forward' || !this.compact) return run.accept(task, result);
    const first = run.accept(task, { ...result, tensors: result.tensors.filter((t) => BOUNDARY_TENSORS.includes(t.name)) });
    const second = run.addGradients(
      task.shard,
      [task.microBatch],
      result.tensors.filter((t) => !BOUNDARY_TENSORS.includes(t.name)),
    );
    return { stepped: [...first.stepped, ...second.stepped], closed: first.closed ?? second.closed };
  }

  /** Gradients a connected volunteer did not deliver (late or malformed): its tasks' credit is taken back and it is on probation again. */
  private withheld(v: Volunteer, o: Orphans): void {
    this.port.uncredit(v.id, o.shard, o.microBatches);
    this.port.verification?.book.suspect(identityOf(v));
  }

  /** Gradients no volunteer will send (its author left, failed or took too long): computed here. */
  private async compute(o: Orphans, now: number): Promise<Effect[]> {
    const { run } = this.port;
    const missing = o.microBatches.filter((m) => run.gradientTaskDone(o.shard, m) && !run.hasGradients(o.shard, m));
    if (missing.length === 0) return [];
    this.events.notice?.('stand-in', `the coordinator computes the gradients of shard ${o.shard}, micro-batches ${missing.join(', ')}: no volunteer holds them any more`);
    return this.port.afterAccept(run.addGradients(o.shard, missing, await run.gradientSum(o.shard, missing)), now);
  }
}
