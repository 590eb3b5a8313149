import { MicroBatchSampler, type MicroBatch, type SamplerState } from '@openshard/data';
import {
  evaluateMicroBatch,
  initParameter,
  parameterSpecs,
  partition,
  readOptimizerState,
  readParameters,
  ShardInputError,
  type OptimizerState,
  type ParameterValues,
  type ShardSpec,
} from '@openshard/model';
import { BOUNDARY_TENSORS, roundTrip, TRAFFIC, type Traffic, type WireTensor } from '@openshard/protocol';
import type { Backend } from '@openshard/tensor';
import { executeTask } from '@openshard/volunteer';
import type { TrainingOptions } from '@openshard/trainer';
import { RoundPlan, type RoundView, type TaskKey } from './round-plan.ts';
import { ShardState, type ShardSnapshot } from './shard-state.ts';

/** The same options as the single-process trainer: that is the point. */
export type RunOptions = TrainingOptions;

/** What a task is sent with. */
export interface TaskInputs {
  tensors: WireTensor[];
  lossScale?: number;
}

export interface TaskResult {
  tensors: WireTensor[];
  loss?: number;
}

export interface RoundSummary {
  round: number;
  /** Mean training loss over the round's micro-batches, in micro-batch order. */
  loss: number;
  tokens: number;
}

/** A result that passed every check: a forward's output, or a backward's input gradient, parameter gradients and loss. */
export interface CheckedResult {
  y?: Float32Array;
  dx?: Float32Array;
  grads?: Map<string, Float32Array>;
  loss?: number;
}

interface RoundSnapshot {
  round: number;
  sampler: SamplerState;
  shards: ShardSnapshot[];
}

export interface AcceptOutcome {
  /** Shards whose optimizer stepped because this result completed their gradients. */
  stepped: number[];
  /** Set when this result closed the round. */
  closed?: RoundSummary;
}

const key = (shard: number, m: number) => `${shard}/${m}`;

/**
 * The coordinator's side of synchronous training, without sockets: the round's micro-batches,
 * the boundary activations and their gradients (kept until the round closes so any task can be
 * re-run by anyone), the inputs of each task, the checking and applying of results, per-shard
 * aggregation and AdamW. Its loss sequence is the single-process trainer's.
 */
export class TrainingRun {
  readonly specs: ShardSpec[];
  readonly shards: ShardState[];
  private sampler: MicroBatchSampler;
  /** The current round's task graph; this class alone completes its tasks. */
  private current: RoundPlan;
  private batches: MicroBatch[] = [];
  /** x_s for s ≥ 1: the output of shard s−1, the input of shard s. */
  private readonly activations = new Map<string, Float32Array>();
  /** dy_s: the gradient of the loss with respect to shard s's output. */
  private readonly outputGradients = new Map<string, Float32Array>();
  private losses: (number | null)[] = [];
  /** Per shard: ids of this round's applied results that wait for their audit; the shard does not step while any does. */
  private held: Set<string>[];
  /** Rewinds so far: what a caller holding on to a round can compare to see that the round was restarted. */
  rewinds = 0;
  /** The states recent rounds started from, oldest first (`keepSnapshot`). */
  private snapshots: RoundSnapshot[] = [];
  /** Where the sampler stood before this round's micro-batches were drawn (saved with the round). */
  samplerAtRoundStart: SamplerState = { epoch: 0, cursor: 0 };
  /** Per shard: whether it stepped this round (compact traffic steps when the gradient sums are in, after its tasks). */
  private stepped: boolean[];

  constructor(
    private readonly be: Backend,
    private readonly trainTokens: Uint8Array,
    readonly options: RunOptions,
    resume?: { round: number; sampler: SamplerState; values: (name: string) => Float32Array; moments: (name: string) => { m: Float32Array; v: Float32Array } },
    /** What crosses the wire (docs/traffic.md); `exact` reproduces the single-process trainer bit for bit. */
    readonly traffic: Traffic = 'exact',
  ) {
    const { config, seed } = options;
    this.specs = partition(config, options.shards);
    const round = resume?.round ?? 0;
    const byName = new Map(parameterSpecs(config).map((p) => [p.name, p]));
    // GPT-2 initialisation, seeded per parameter as in the single-process trainer
    const init = (name: string) => initParameter(config, byName.get(name)!, seed);
    const updates = TRAFFIC[traffic].updates;
    this.shards = this.specs.map((spec) => new ShardState(be, config, spec, resume ? resume.values : init, options.optimizer, options.microBatches, round, resume?.moments, round, updates));
    this.held = this.specs.map(() => new Set());
    this.stepped = this.specs.map(() => false);
    this.sampler = new MicroBatchSampler(trainTokens, options.batch, config.contextLength, seed, resume?.sampler);
    this.current = this.startRound(round);
  }

  get round(): number {
    return this.current.round;
  }

  /** The current round's tasks and which are done. A new plan replaces it when a round closes. */
  get plan(): RoundView {
    return this.current;
  }

  private startRound(round: number): RoundPlan {
    this.samplerAtRoundStart = this.sampler.state;
    this.batches = Array.from({ length: this.options.microBatches }, () => this.sampler.next());
    this.activations.clear();
    this.outputGradients.clear();
    this.losses = this.batches.map(() => null);
    for (const h of this.held ?? []) h.clear();
    this.stepped = this.specs.map(() => false);
    this.current = new RoundPlan(round, this.options.shards, this.options.microBatches);
    return this.current;
  }

  inputs(t: TaskKey): TaskInputs {
    const { B, T } = this.batches[t.microBatch];
    const C = this.options.config.width;
    const codec = TRAFFIC[this.traffic].activations;
    const x: WireTensor =
      t.shard === 0
        ? { name: 'x', dtype: 'i32', shape: [B, T], data: this.batches[t.microBatch].inputs }
        : { name: 'x', dtype: 'f32', shape: [B, T, C], data: this.need(this.activations, t.shard, t.microBatch, 'activation'), codec };
    if (t.kind === 'forward') return { tensors: [x] };
    if (t.kind === 'backward') {
      return { tensors: [x, { name: 'dy', dtype: 'f32', shape: [B, T, C], data: this.need(this.outputGradients, t.shard, t.microBatch, 'output gradient'), codec }] };
    }
    const targets: WireTensor = { name: 'targets', dtype: 'i32', shape: [B, T], data: this.batches[t.microBatch].targets };
    return { tensors: [x, targets], lossScale: 1 / (B * T * this.options.microBatches) };
  }

  /**
   * Checks a task's result completely (shapes, names, a finite loss) without applying it: what an
   * audit's re-execution is checked with too. Throws ShardInputError naming what is wrong.
   */
  check(t: TaskKey, r: TaskResult): CheckedResult {
    const { B, T } = this.batches[t.microBatch];
    const C = this.options.config.width;
    const byName = new Map(r.tensors.map((x) => [x.name, x]));
    const take = (name: string, shape: number[]): Float32Array => {
      const x = byName.get(name);
      if (!x) throw new ShardInputError(`${t.kind} result for shard ${t.shard} lacks tensor '${name}'`);
      if (x.dtype !== 'f32' || x.shape.join(',') !== shape.join(',')) {
        throw new ShardInputError(`tensor '${name}' is ${x.dtype}[${x.shape}], expected f32[${shape}] for shard ${t.shard}`);
      }
      byName.delete(name);
      return x.data as Float32Array;
    };
    const noneLeft = () => {
      if (byName.size) throw new ShardInputError(`${t.kind} result carries unexpected tensors: ${[...byName.keys()].slice(0, 3).join(', ')}`);
    };
    if (t.kind === 'forward') {
      const y = take('y', [B, T, C]);
      noneLeft();
      return { y };
    }
    if (t.kind === 'lossAndBackward' && !(typeof r.loss === 'number' && Number.isFinite(r.loss))) {
      throw new ShardInputError(`lossAndBackward result for micro-batch ${t.microBatch} has loss ${r.loss}, expected a finite number`);
    }
    const dx = t.shard > 0 ? take('dx', [B, T, C]) : undefined;
    // compact traffic: the volunteer keeps them until `collect`; they come summed (addGradients)
    if (TRAFFIC[this.traffic].keepGradients) {
      noneLeft();
      return { dx, loss: r.loss };
    }
    const grads = new Map<string, Float32Array>();
    for (const p of this.shards[t.shard].shard.parameters) grads.set(p.name, take(p.name, p.shape));
    noneLeft();
    return { dx, grads, loss: r.loss };
  }

  /**
   * The task run on the coordinator's copy of its shard, as a volunteer in this traffic mode
   * sends it (without parameter gradients when they are kept), unrounded: what audits compare
   * with and the stand-in applies.
   */
  async compute(t: TaskKey): Promise<TaskResult> {
    const inputs = this.inputs(t);
    const out = await executeTask(this.shards[t.shard].shard, t.kind, inputs.tensors, inputs.lossScale);
    return { loss: out.loss, tensors: TRAFFIC[this.traffic].keepGradients ? out.tensors.filter((x) => BOUNDARY_TENSORS.includes(x.name)) : out.tensors };
  }

  /**
   * The parameter gradients of micro-batches of a shard, computed by the coordinator and summed
   * in micro-batch order, as a volunteer's `gradients` message carries them (unrounded).
   */
  async gradientSum(shard: number, microBatches: readonly number[]): Promise<WireTensor[]> {
    const kind = this.gradientKind(shard);
    let sum: WireTensor[] | null = null;
    for (const m of [...microBatches].sort((a, b) => a - b)) {
      const inputs = this.inputs({ kind, shard, microBatch: m });
      const grads = (await executeTask(this.shards[shard].shard, kind, inputs.tensors, inputs.lossScale)).tensors.filter((x) => !BOUNDARY_TENSORS.includes(x.name));
      if (!sum) sum = grads;
      else for (const [i, g] of grads.entries()) for (let j = 0; j < g.data.length; j++) (sum[i].data as Float32Array)[j] += g.data[j];
    }
    return sum ?? [];
  }

  /** Compact traffic: whether every gradient task of the shard is done and their gradients are not all in yet. */
  gradientsDue(shard: number): boolean {
    return TRAFFIC[this.traffic].keepGradients && this.current.shardComplete(shard) && !this.stepped[shard] && !this.shards[shard].complete;
  }

  /** The kind of a shard's gradient tasks: the last shard's also computes the loss. */
  private gradientKind(shard: number): 'backward' | 'lossAndBackward' {
    return shard === this.specs.length - 1 ? 'lossAndBackward' : 'backward';
  }

  /** Whether the gradient task (backward or lossAndBackward) of micro-batch m of the shard is done this round. */
  gradientTaskDone(shard: number, m: number): boolean {
    return this.current.isDone({ kind: this.gradientKind(shard), shard, microBatch: m });
  }

  /** Whether the gradients of micro-batch m of the shard are in this round. */
  hasGradients(shard: number, m: number): boolean {
    return this.stepped[shard] || this.shards[shard].has(m);
  }

  /**
   * Compact traffic: a sum of parameter gradients over some of this round's micro-batches of a
   * shard (a volunteer's, checked by the caller, or the coordinator's own). Checked completely,
   * then kept; the shard steps when its sums cover every micro-batch, and the round may close.
   */
  addGradients(shard: number, microBatches: number[], tensors: readonly WireTensor[]): AcceptOutcome {
    if (this.stepped[shard]) throw new ShardInputError(`shard ${shard} has already stepped in round ${this.round}`);
    const state = this.shards[shard];
    const byName = new Map(tensors.map((x) => [x.name, x]));
    const grads = new Map<string, Float32Array>();
    for (const p of state.shard.parameters) {
      const x = byName.get(p.name);
      if (!x) throw new ShardInputError(`gradients for shard ${shard} lack '${p.name}'`);
      if (x.dtype !== 'f32' || x.shape.join(',') !== p.shape.join(',')) throw new ShardInputError(`gradient '${p.name}' is ${x.dtype}[${x.shape}], expected f32[${p.shape}]`);
      grads.set(p.name, x.data as Float32Array);
      byName.delete(p.name);
    }
    if (byName.size) throw new ShardInputError(`gradients for shard ${shard} include tensors it does not hold: ${[...byName.keys()].slice(0, 3).join(', ')}`);
    const undone = microBatches.filter((m) => !this.gradientTaskDone(shard, m));
    if (undone.length) throw new ShardInputError(`gradients of micro-batches ${undone.join(', ')} of shard ${shard} before their tasks were done`);
    state.addGradients(microBatches, grads);
    return this.advance(shard);
  }

  /**
   * Checks a task's result completely, then applies it: stores its activation or gradient,
   * keeps its parameter gradients, steps a shard whose gradients are complete, and closes the
   * round when every shard has stepped. A result that fails a check throws and changes nothing.
   * A `held` result is applied but its shard does not step until it is released (`release`):
   * an audit re-executes it on the same weights meanwhile.
   */
  accept(t: TaskKey, r: TaskResult, held = false): AcceptOutcome {
    if (this.current.isDone(t)) throw new Error(`${this.current.id(t)} was already applied; duplicates must be dropped before accept`);
    const checked = this.check(t, r);
    this.current.complete(t);
    if (held) this.held[t.shard].add(this.current.id(t));
    const { B, T } = this.batches[t.microBatch];
    const shape = [B, T, this.options.config.width];
    const boundary = (x: Float32Array) => roundTrip(x, shape, TRAFFIC[this.traffic].activations);
    if (checked.y) {
      this.activations.set(key(t.shard + 1, t.microBatch), boundary(checked.y));
    } else {
      if (checked.grads) this.shards[t.shard].addGradients(t.microBatch, checked.grads);
      if (checked.dx) this.outputGradients.set(key(t.shard - 1, t.microBatch), boundary(checked.dx));
      if (t.kind === 'lossAndBackward') this.losses[t.microBatch] = checked.loss!;
    }
    return this.advance(t.shard);
  }

  /** A held result's audit agreed: its shard may step, and the round may close. */
  release(t: TaskKey): AcceptOutcome {
    if (!this.held[t.shard].delete(this.current.id(t))) throw new Error(`${this.current.id(t)} is not held`);
    return this.advance(t.shard);
  }

  /** Whether a result of this round waits for its audit. */
  isHeld(t: TaskKey): boolean {
    return this.held[t.shard].has(this.current.id(t));
  }

  /** Steps the shard if its gradients are complete and none is held; closes the round when all tasks are done and nothing is held. */
  private advance(shard: number): AcceptOutcome {
    const state = this.shards[shard];
    const stepped: number[] = [];
    if (state.complete && this.held[shard].size === 0 && !this.stepped[shard]) {
      state.step();
      this.stepped[shard] = true;
      stepped.push(shard);
    }
    if (!this.current.closed || this.held.some((h) => h.size > 0) || !this.stepped.every(Boolean)) return { stepped };
    const loss = this.losses.reduce((a: number, l) => a + l!, 0) / this.losses.length;
    const closed = { round: this.current.round, loss, tokens: this.batches.reduce((a, b) => a + b.B * b.T, 0) };
    this.startRound(this.current.round + 1);
    return { stepped, closed };
  }

  /**
   * Keeps a copy of the state the current round starts from (weights, moments, sampler), and
   * forgets copies older than the `keep` most recent: what `rewind` can go back to. Call it when
   * a round opens, before any of its results is applied.
   */
  async keepSnapshot(keep: number): Promise<void> {
    if (this.snapshots.some((s) => s.round === this.round)) return;
    const shards = await Promise.all(this.shards.map((s) => s.snapshot()));
    this.snapshots.push({ round: this.round, sampler: this.samplerAtRoundStart, shards });
    while (this.snapshots.length > keep) this.snapshots.shift();
  }

  /** The latest round at or before `round` that a rewind can restore; the oldest kept if none is that early; null if none is kept. */
  rewindTarget(round: number): number | null {
    const kept = this.snapshots.map((s) => s.round);
    if (kept.length === 0) return null;
    const before = kept.filter((r) => r <= round);
    return before.length ? Math.max(...before) : Math.min(...kept);
  }

  /**
   * Puts the run back at the start of `round` (a kept snapshot): weights, moments, sampler and the
   * round's micro-batches as they were, the round's results forgotten. Every shard gets a new
   * version number, so no volunteer mistakes the restored weights for the ones it holds.
   */
  rewind(round: number): void {
    const snap = this.snapshots.find((s) => s.round === round);
    if (!snap) throw new Error(`no snapshot of round ${round} is kept (kept: ${this.snapshots.map((s) => s.round).join(', ') || 'none'})`);
    const { config } = this.options;
    for (let i = 0; i < this.shards.length; i++) {
      const old = this.shards[i];
      const saved = snap.shards[i];
      this.shards[i] = new ShardState(
        this.be,
        config,
        old.spec,
        (n) => saved.values.get(n)!,
        this.options.optimizer,
        this.options.microBatches,
        saved.steps,
        (n) => saved.moments.get(n)!,
        old.version + 1,
        TRAFFIC[this.traffic].updates,
        new Map([...saved.residual].map(([name, r]) => [name, Float32Array.from(r)])),
      );
      old.dispose();
    }
    this.snapshots = this.snapshots.filter((s) => s.round <= round);
    this.rewinds += 1;
    this.sampler = new MicroBatchSampler(this.trainTokens, this.options.batch, config.contextLength, this.options.seed, snap.sampler);
    this.startRound(round);
  }

  /** Compact traffic: rounds each step's update (`ShardState.commitStep`); call after any result is applied, before weights go out. */
  async commitSteps(): Promise<void> {
    for (const s of this.shards) await s.commitStep();
  }

  /** Mean loss of the current weights on fixed batches (the validation set), as the trainer's evaluate. */
  async validationLoss(batches: readonly MicroBatch[]): Promise<number> {
    const shards = this.shards.map((s) => s.shard);
    let total = 0;
    for (const b of batches) total += await evaluateMicroBatch(shards, b);
    return total / batches.length;
  }

  /** Every parameter of every shard, by name. */
  async parameterValues(): Promise<ParameterValues> {
    return readParameters(this.shards.map((s) => s.shard));
  }

  async optimizerState(): Promise<OptimizerState> {
    return readOptimizerState(
      this.shards.map((s) => s.optimizer),
      this.round,
    );
  }

  private need(store: Map<string, Float32Array>, shard: number, m: number, what: string): Float32Array {
    const v = store.get(key(shard, m));
    if (!v) throw new Error(`round ${this.current.round}: no ${what} for shard ${shard}, micro-batch ${m} yet`);
    return v;
  }

  dispose(): void {
    for (const s of this.shards) s.dispose();
  }
}
