import { formatShape, type Backend, type Tensor } from '@openshard/tensor';
import { readOptimizerState, readParameters, Shard, ShardOptimizer, ShardInputError, type GptConfig, type OptimizerConfig, type ParameterValues, type ShardSpec } from '@openshard/model';

/** One shard's weights and AdamW moments at the start of a round: what a rewind restores. */
export interface ShardSnapshot {
  values: ParameterValues;
  moments: Map<string, { m: Float32Array; v: Float32Array }>;
  steps: number;
}

/**
 * The coordinator's copy of one shard: its weights at `version`, its AdamW moments, and the
 * gradients of the current round's micro-batches as they arrive. Gradients are summed in
 * micro-batch order whatever order they came in, exactly as the single-process trainer sums them.
 */
export class ShardState {
  readonly shard: Shard;
  readonly optimizer: ShardOptimizer;
  private pending: (Map<string, Float32Array> | null)[];
  /**
   * Names these weights for volunteers: it rises with every step and with every rewind, so a
   * number is never reused for other weights (a rewind restores `steps`, not `version`).
   */
  version: number;

  constructor(
    private readonly be: Backend,
    config: GptConfig,
    readonly spec: ShardSpec,
    values: (name: string) => Float32Array,
    optimizer: OptimizerConfig,
    microBatches: number,
    /** Optimizer steps applied so far (AdamW's step count). */
    public steps: number,
    moments?: (name: string) => { m: Float32Array; v: Float32Array },
    version = steps,
  ) {
    this.version = version;
    this.shard = Shard.fromValues(be, config, spec, (p) => values(p.name));
    this.optimizer = new ShardOptimizer(be, this.shard.parameters, optimizer, moments);
    this.pending = new Array(microBatches).fill(null);
  }

  /** Checks one micro-batch's gradients (every parameter, right shape, finite) and keeps them. */
  addGradients(microBatch: number, grads: Map<string, Float32Array>): void {
    if (!(microBatch >= 0 && microBatch < this.pending.length)) {
      throw new ShardInputError(`micro-batch ${microBatch} is outside this round's 0…${this.pending.length - 1}`);
    }
    for (const p of this.shard.parameters) {
      const g = grads.get(p.name);
      if (!g) throw new ShardInputError(`gradients for shard ${this.spec.index} lack '${p.name}'`);
      const size = p.shape.reduce((a, b) => a * b, 1);
      if (g.length !== size) throw new ShardInputError(`gradient '${p.name}' has ${g.length} values, expected ${size} for ${formatShape(p.shape)}`);
    }
    if (grads.size !== this.shard.parameters.length) {
      const extra = [...grads.keys()].filter((n) => !this.shard.weights.has(n));
      throw new ShardInputError(`gradients for shard ${this.spec.index} include parameters it does not hold: ${extra.slice(0, 3).join(', ')}`);
    }
    this.pending[microBatch] = grads;
  }

  get complete(): boolean {
    return this.pending.every((g) => g !== null);
  }

  /** Sums the round's gradients in micro-batch order, takes AdamW step `steps + 1`. */
  step(): void {
    if (!this.complete) throw new Error(`shard ${this.spec.index} stepped with gradients missing for micro-batches ${this.pending.flatMap((g, m) => (g ? [] : [m])).join(', ')}`);
    const sums = new Map<string, Tensor>();
    for (const p of this.shard.parameters) {
      const sum = this.be.upload(this.pending[0]!.get(p.name)!, p.shape);
      for (let m = 1; m < this.pending.length; m++) {
        const g = this.be.upload(this.pending[m]!.get(p.name)!, p.shape);
        this.be.accumulate(sum, g);
        g.dispose();
      }
      sums.set(p.name, sum);
    }
    this.optimizer.step(this.shard.weights, sums, this.steps + 1);
    for (const t of sums.values()) t.dispose();
    this.steps += 1;
    this.version += 1;
    this.pending = this.pending.map(() => null);
  }

  private cached: { version: number; values: Map<string, Float32Array> } | null = null;

  /** The weights at the current version, read from the backend once per version (sent to every holder). */
  async valuesCached(): Promise<Map<string, Float32Array>> {
    if (this.cached?.version !== this.version) this.cached = { version: this.version, values: await this.values() };
    return this.cached.values;
  }

  async values(): Promise<ParameterValues> {
    return readParameters([this.shard]);
  }

  /** Weights, moments and step count, copied (valid between steps, when no gradients are pending for a step). */
  async snapshot(): Promise<ShardSnapshot> {
    const { moments } = await readOptimizerState([this.optimizer], this.steps);
    return { values: await this.values(), moments, steps: this.steps };
  }

  dispose(): void {
    this.shard.dispose();
    this.optimizer.dispose();
  }
}
