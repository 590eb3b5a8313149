import { MicroBatchSampler, type MicroBatch, type SamplerState } from '@openshard/data';
import {
  evaluateMicroBatch,
  LowRankBoundary,
  partition,
  readOptimizerState,
  readParameters,
  runMicroBatch,
  Shard,
  ShardOptimizer,
  learningRate,
  type GptConfig,
  type OptimizerConfig,
  type OptimizerState,
  type ParameterValues,
} from '@openshard/model';
import type { Backend, Tensor } from '@openshard/tensor';

export interface TrainingOptions {
  config: GptConfig;
  /** Pipeline stages the model is cut into; the result does not depend on it. */
  shards: number;
  /** Sequences per micro-batch. */
  batch: number;
  /** Micro-batches per step (one synchronous round); their gradients are summed in order. */
  microBatches: number;
  /** Seeds the initial weights and the data order. */
  seed: number;
  optimizer: OptimizerConfig;
  /**
   * k: stage boundaries carry k numbers per token and the token ids instead of the width C
   * (docs/boundary-compression.md). The basis is seeded by `seed`. Absent: the dense model.
   */
  boundaryRank?: number;
}

/** Where a training run is; with the weights and moments it is everything a resume needs. */
export interface TrainerState {
  /** Optimizer steps completed. */
  step: number;
  sampler: SamplerState;
}

export interface StepResult {
  step: number;
  /** Mean training loss (nats per token) over the step's micro-batches. */
  loss: number;
  learningRate: number;
  tokens: number;
  ms: number;
}

export interface ResumePoint {
  values: ParameterValues;
  optimizer: OptimizerState;
  state: TrainerState;
}

/**
 * Trains the sharded model in one process: per step, M micro-batches through the pipeline of
 * shards, per-shard gradients summed in micro-batch order, one AdamW step per shard. This is
 * the reference the distributed run must reproduce loss for loss.
 */
export class Trainer {
  readonly shards: Shard[];
  private readonly boundary?: LowRankBoundary;
  private readonly optimizers: ShardOptimizer[];
  private readonly sampler: MicroBatchSampler;
  private completed: number;

  constructor(
    readonly backend: Backend,
    trainTokens: Uint8Array,
    readonly options: TrainingOptions,
    resume?: ResumePoint,
  ) {
    const { config, seed } = options;
    if (!Number.isInteger(options.microBatches) || options.microBatches < 1) {
      throw new RangeError(`microBatches is ${options.microBatches}; it must be a positive integer`);
    }
    // the sampler first: a text too short for it fails before anything is uploaded
    this.sampler = new MicroBatchSampler(trainTokens, options.batch, config.contextLength, seed, resume?.state.sampler);
    this.boundary = options.boundaryRank === undefined ? undefined : LowRankBoundary.create(backend, config, options.boundaryRank, seed);
    const shardOptions = { boundary: this.boundary };
    this.shards = partition(config, options.shards).map((spec) =>
      resume ? Shard.fromValues(backend, config, spec, (p) => resume.values.get(p.name)!, shardOptions) : Shard.init(backend, config, spec, seed, shardOptions),
    );
    this.optimizers = this.shards.map((s) => new ShardOptimizer(backend, s.parameters, options.optimizer, resume && ((name) => resume.optimizer.moments.get(name)!)));
    this.completed = resume?.state.step ?? 0;
    if (resume && resume.optimizer.step !== resume.state.step) {
      throw new Error(`the optimizer state is at step ${resume.optimizer.step} but the trainer state at step ${resume.state.step}: mixed checkpoints`);
    }
  }

  get step(): number {
    return this.completed;
  }

  get state(): TrainerState {
    return { step: this.completed, sampler: this.sampler.state };
  }

  get tokensPerStep(): number {
    return this.options.batch * this.options.config.contextLength * this.options.microBatches;
  }

  async trainStep(): Promise<StepResult> {
    const started = performance.now();
    const M = this.options.microBatches;
    const { batch: B, config } = this.options;
    const lossScale = 1 / (B * config.contextLength * M);
    const sums: Map<string, Tensor>[] = this.shards.map(() => new Map());
    let lossTotal = 0;
    try {
      for (let m = 0; m < M; m++) {
        const r = await runMicroBatch(this.shards, this.sampler.next(), lossScale);
        lossTotal += r.loss;
        r.grads.forEach((grads, s) => {
          for (const [name, g] of grads) {
            const sum = sums[s].get(name);
            if (sum) {
              this.backend.accumulate(sum, g);
              g.dispose();
            } else sums[s].set(name, g);
          }
        });
      }
      const loss = lossTotal / M;
      const step = this.completed + 1;
      if (!Number.isFinite(loss)) throw new Error(`training loss is ${loss} at step ${step}: the run diverged; resume from an earlier checkpoint with a lower learning rate`);
      this.shards.forEach((shard, s) => this.optimizers[s].step(shard.weights, sums[s], step));
      await this.backend.sync();
      this.completed = step;
      return { step, loss, learningRate: learningRate(this.options.optimizer, step), tokens: this.tokensPerStep, ms: performance.now() - started };
    } finally {
      for (const m of sums) for (const g of m.values()) g.dispose();
    }
  }

  /** Mean loss over the given micro-batches, forward only. */
  async evaluate(batches: readonly MicroBatch[]): Promise<number> {
    let total = 0;
    for (const b of batches) total += await evaluateMicroBatch(this.shards, b);
    return total / batches.length;
  }

  parameterValues(): Promise<ParameterValues> {
    return readParameters(this.shards);
  }

  optimizerState(): Promise<OptimizerState> {
    return readOptimizerState(this.optimizers, this.completed);
  }

  dispose(): void {
    for (const s of this.shards) s.dispose();
    for (const o of this.optimizers) o.dispose();
    this.boundary?.dispose();
  }
}
