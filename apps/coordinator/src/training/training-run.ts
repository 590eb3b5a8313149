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
import type { WireTensor } from '@openshard/protocol';
import type { Backend } from '@openshard/tensor';
import type { TrainingOptions } from '@openshard/trainer';
import { RoundPlan, type RoundView, type TaskKey } from './round-plan.ts';
import { ShardState } from './shard-state.ts';

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
  private readonly sampler: MicroBatchSampler;
  /** The current round's task graph; this class alone completes its tasks. */
  private current: RoundPlan;
  private batches: MicroBatch[] = [];
  /** x_s for s ≥ 1: the output of shard s−1, the input of shard s. */
  private readonly activations = new Map<string, Float32Array>();
  /** dy_s: the gradient of the loss with respect to shard s's output. */
  private readonly outputGradients = new Map<string, Float32Array>();
  private losses: (number | null)[] = [];
  /** Where the sampler stood before this round's micro-batches were drawn (saved with the round). */
  samplerAtRoundStart: SamplerState = { epoch: 0, cursor: 0 };

  constructor(
    be: Backend,
    trainTokens: Uint8Array,
    readonly options: RunOptions,
    resume?: { round: number; sampler: SamplerState; values: (name: string) => Float32Array; moments: (name: string) => { m: Float32Array; v: Float32Array } },
  ) {
    const { config, seed } = options;
    this.specs = partition(config, options.shards);
    const round = resume?.round ?? 0;
    const byName = new Map(parameterSpecs(config).map((p) => [p.name, p]));
    // GPT-2 initialisation, seeded per parameter as in the single-process trainer
    const init = (name: string) => initParameter(config, byName.get(name)!, seed);
    this.shards = this.specs.map((spec) => new ShardState(be, config, spec, resume ? resume.values : init, options.optimizer, options.microBatches, round, resume?.moments));
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
    this.current = new RoundPlan(round, this.options.shards, this.options.microBatches);
    return this.current;
  }

  inputs(t: TaskKey): TaskInputs {
    const { B, T } = this.batches[t.microBatch];
    const C = this.options.config.width;
    const x: WireTensor =
      t.shard === 0
        ? { name: 'x', dtype: 'i32', shape: [B, T], data: this.batches[t.microBatch].inputs }
        : { name: 'x', dtype: 'f32', shape: [B, T, C], data: this.need(this.activations, t.shard, t.microBatch, 'activation') };
    if (t.kind === 'forward') return { tensors: [x] };
    if (t.kind === 'backward') {
      return { tensors: [x, { name: 'dy', dtype: 'f32', shape: [B, T, C], data: this.need(this.outputGradients, t.shard, t.microBatch, 'output gradient') }] };
    }
    const targets: WireTensor = { name: 'targets', dtype: 'i32', shape: [B, T], data: this.batches[t.microBatch].targets };
    return { tensors: [x, targets], lossScale: 1 / (B * T * this.options.microBatches) };
  }

  /**
   * Checks a task's result completely, then applies it: stores its activation or gradient,
   * keeps its parameter gradients, steps a shard whose gradients are complete, and closes the
   * round when every shard has stepped. A result that fails a check throws and changes nothing.
   */
  accept(t: TaskKey, r: TaskResult): AcceptOutcome {
    if (this.current.isDone(t)) throw new Error(`${this.current.id(t)} was already applied; duplicates must be dropped before accept`);
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
    if (t.kind === 'forward') {
      const y = take('y', [B, T, C]);
      if (byName.size) throw new ShardInputError(`forward result carries unexpected tensors: ${[...byName.keys()].slice(0, 3).join(', ')}`);
      this.current.complete(t);
      this.activations.set(key(t.shard + 1, t.microBatch), y);
      return { stepped: [] };
    }
    if (t.kind === 'lossAndBackward' && !(typeof r.loss === 'number' && Number.isFinite(r.loss))) {
      throw new ShardInputError(`lossAndBackward result for micro-batch ${t.microBatch} has loss ${r.loss}, expected a finite number`);
    }
    const dx = t.shard > 0 ? take('dx', [B, T, C]) : null;
    const state = this.shards[t.shard];
    const grads = new Map<string, Float32Array>();
    for (const p of state.shard.parameters) grads.set(p.name, take(p.name, p.shape));
    if (byName.size) throw new ShardInputError(`${t.kind} result carries unexpected tensors: ${[...byName.keys()].slice(0, 3).join(', ')}`);
    state.addGradients(t.microBatch, grads);
    this.current.complete(t);
    if (dx) this.outputGradients.set(key(t.shard - 1, t.microBatch), dx);
    if (t.kind === 'lossAndBackward') this.losses[t.microBatch] = r.loss!;
    const stepped: number[] = [];
    if (state.complete) {
      state.step();
      stepped.push(t.shard);
    }
    if (!this.current.closed) return { stepped };
    const loss = this.losses.reduce((a: number, l) => a + l!, 0) / this.losses.length;
    const closed = { round: this.current.round, loss, tokens: this.batches.reduce((a, b) => a + b.B * b.T, 0) };
    this.startRound(this.current.round + 1);
    return { stepped, closed };
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
