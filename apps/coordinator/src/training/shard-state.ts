import { formatShape, type Backend, type Tensor } from '@openshard/tensor';
import { readOptimizerState, readParameters, Shard, ShardOptimizer, ShardInputError, type GptConfig, type OptimizerConfig, type ParameterValues, type ShardSpec } from '@openshard/model';
import { applyUpdate, roundTrip, type Codec } from '@openshard/protocol';

/** One shard's weights and AdamW moments at the start of a round: what a rewind restores. */
export interface ShardSnapshot {
  values: ParameterValues;
  moments: Map<string, { m: Float32Array; v: Float32Array }>;
  steps: number;
  /** What the updates sent so far left out (compact traffic), added to the next one. */
  residual: ParameterValues;
}

/** The update from version `from` to the current one, as every holder of `from` receives it. */
export interface WeightsUpdate {
  from: number;
  codec: Codec;
  values: ParameterValues;
}

/** Parameter gradients summed over some of a round's micro-batches. */
interface GradientSum {
  microBatches: number[];
  grads: Map<string, Float32Array>;
}

/**
 * The coordinator's copy of one shard: its weights at `version`, its AdamW moments, and the
 * gradients of the current round's micro-batches as they arrive (one micro-batch's, or a
 * volunteer's sum of several). Sums are added in order of their first micro-batch whatever order
 * they came in: with one micro-batch each, exactly as the single-process trainer sums them.
 *
 * With an update codec (compact traffic), each step's change of the weights is rounded through
 * the codec before it is applied (`commitStep`), and what the rounding left out is carried into the
 * next step's (error feedback): the weights are then exactly what holders compute from the update.
 */
export class ShardState {
  readonly shard: Shard;
  readonly optimizer: ShardOptimizer;
  private sums: GradientSum[] = [];
  private covered: boolean[];
  /** Compact traffic: the weights as of the last committed step, and what earlier updates left out. */
  private committedValues: ParameterValues | null = null;
  private residual: ParameterValues = new Map();
  private uncommitted = false;
  /** The last step's update, for holders of the version before it. */
  update: WeightsUpdate | null = null;
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
    /** The codec of each step's update (compact traffic); null: exact steps. */
    private readonly updateCodec: Codec | null = null,
    residual?: ParameterValues,
  ) {
    this.version = version;
    this.shard = Shard.fromValues(be, config, spec, (p) => values(p.name));
    this.optimizer = new ShardOptimizer(be, this.shard.parameters, optimizer, moments);
    this.covered = new Array(microBatches).fill(false);
    if (updateCodec) {
      this.committedValues = new Map(this.shard.parameters.map((p) => [p.name, Float32Array.from(values(p.name))]));
      this.residual = residual ?? new Map(this.shard.parameters.map((p) => [p.name, new Float32Array(p.shape.reduce((a, b) => a * b, 1))]));
    }
  }

  /** Checks gradients (every parameter, right shape, finite) summed over `microBatches`, none of them in yet, and keeps them. */
  addGradients(microBatches: number | number[], grads: Map<string, Float32Array>): void {
    const list = typeof microBatches === 'number' ? [microBatches] : microBatches;
    for (const m of list) {
      if (!(Number.isInteger(m) && m >= 0 && m < this.covered.length)) throw new ShardInputError(`micro-batch ${m} is outside this round's 0…${this.covered.length - 1}`);
      if (this.covered[m]) throw new ShardInputError(`gradients of micro-batch ${m} of shard ${this.spec.index} are in already`);
    }
    if (new Set(list).size !== list.length || list.length === 0) throw new ShardInputError(`micro-batches [${list.join(', ')}] must be distinct and at least one`);
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
    for (const m of list) this.covered[m] = true;
    this.sums.push({ microBatches: [...list].sort((a, b) => a - b), grads });
  }

  get complete(): boolean {
    return this.covered.every(Boolean);
  }

  /** Whether the gradients of micro-batch m are in. */
  has(m: number): boolean {
    return this.covered[m];
  }

  /** Sums the round's gradients in order of their first micro-batch, takes AdamW step `steps + 1`. */
  step(): void {
    if (!this.complete) throw new Error(`shard ${this.spec.index} stepped with gradients missing for micro-batches ${this.covered.flatMap((c, m) => (c ? [] : [m])).join(', ')}`);
    const ordered = [...this.sums].sort((a, b) => a.microBatches[0] - b.microBatches[0]);
    const sums = new Map<string, Tensor>();
    for (const p of this.shard.parameters) {
      const sum = this.be.upload(ordered[0].grads.get(p.name)!, p.shape);
      for (const other of ordered.slice(1)) {
        const g = this.be.upload(other.grads.get(p.name)!, p.shape);
        this.be.accumulate(sum, g);
        g.dispose();
      }
      sums.set(p.name, sum);
    }
    this.optimizer.step(this.shard.weights, sums, this.steps + 1);
    for (const t of sums.values()) t.dispose();
    this.steps += 1;
    this.version += 1;
    this.sums = [];
    this.covered.fill(false);
    this.uncommitted = this.updateCodec !== null;
  }

  /**
   * Compact traffic, after a step: the weights become those before it plus the step's change
   * (and what earlier updates left out) rounded through the update codec, which is kept as
   * `update` for the holders of the version before. Does nothing after an exact step.
   */
  async commitStep(): Promise<void> {
    if (!this.uncommitted || !this.updateCodec || !this.committedValues) return;
    this.uncommitted = false;
    const stepped = await this.values();
    const update: ParameterValues = new Map();
    const committed: ParameterValues = new Map();
    for (const p of this.shard.parameters) {
      const base = this.committedValues.get(p.name)!;
      const wanted = stepped.get(p.name)!;
      const carried = this.residual.get(p.name)!;
      // the change goes where the stepped weights were read (they are not needed after this)
      const change = wanted;
      for (let i = 0; i < base.length; i++) change[i] = wanted[i] - base[i] + carried[i];
      const sent = roundTrip(change, p.shape, this.updateCodec);
      for (let i = 0; i < base.length; i++) carried[i] = change[i] - sent[i];
      // what every holder computes from the update: the one definition keeps them equal bit for bit
      const weights = applyUpdate(base, sent);
      update.set(p.name, sent);
      committed.set(p.name, weights);
      const old = this.shard.weights.get(p.name)!;
      this.shard.weights.set(p.name, this.be.upload(weights, p.shape));
      old.dispose();
    }
    this.committedValues = committed;
    this.update = { from: this.version - 1, codec: this.updateCodec, values: update };
  }

  private cached: { version: number; values: Map<string, Float32Array> } | null = null;

  /** The weights at the current version, read from the backend once per version (sent to every holder). */
  async valuesCached(): Promise<Map<string, Float32Array>> {
    if (this.committedValues && !this.uncommitted) return this.committedValues;
    if (this.cached?.version !== this.version) this.cached = { version: this.version, values: await this.values() };
    return this.cached.values;
  }

  async values(): Promise<ParameterValues> {
    return readParameters([this.shard]);
  }

  /** Weights, moments and step count, copied (valid between steps, when no gradients are pending for a step). */
  async snapshot(): Promise<ShardSnapshot> {
    const { moments } = await readOptimizerState([this.optimizer], this.steps);
    const residual = new Map([...this.residual].map(([name, r]) => [name, Float32Array.from(r)]));
    return { values: await this.values(), moments, steps: this.steps, residual };
  }

  dispose(): void {
    this.shard.dispose();
    this.optimizer.dispose();
  }
}
