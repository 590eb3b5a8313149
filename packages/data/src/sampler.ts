import { Random } from '@openshard/tensor';

/** B sequences of T tokens and, for each position, the token that follows it. */
export interface MicroBatch {
  B: number;
  T: number;
  /** i32 [B·T] */
  inputs: Int32Array;
  /** i32 [B·T] */
  targets: Int32Array;
}

/** Where the sampler is: restoring it yields exactly the micro-batches that would have come next. */
export interface SamplerState {
  epoch: number;
  /** Windows of this epoch already handed out. */
  cursor: number;
}

function epochSeed(seed: number, epoch: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(epoch + 1, 0xc2b2ae35)) >>> 0;
}

/**
 * Cuts the token stream into windows of T+1 tokens at stride T (neighbours share one token: the
 * last target of one is the first input of the next), so every position is trained on once per epoch, and deals
 * them out B per micro-batch in an order shuffled per epoch from (seed, epoch). The state
 * is just (epoch, cursor).
 */
export class MicroBatchSampler {
  readonly windows: number;
  private order: Uint32Array;
  private orderEpoch: number;
  private position: SamplerState;

  constructor(
    private readonly tokens: Uint8Array,
    readonly B: number,
    readonly T: number,
    readonly seed: number,
    state: SamplerState = { epoch: 0, cursor: 0 },
  ) {
    if (!Number.isInteger(B) || B < 1) throw new RangeError(`micro-batch size B is ${B}; it must be a positive integer`);
    if (!Number.isInteger(T) || T < 1) throw new RangeError(`sequence length T is ${T}; it must be a positive integer`);
    this.windows = Math.floor((tokens.length - 1) / T);
    if (this.windows < 1) throw new RangeError(`the training text has ${tokens.length} tokens; sequences of ${T} need at least ${T + 1}`);
    if (!Number.isInteger(state.epoch) || state.epoch < 0 || !Number.isInteger(state.cursor) || state.cursor < 0 || state.cursor > this.windows) {
      throw new RangeError(`sampler state ${JSON.stringify(state)} is outside this corpus (epochs ≥ 0, cursor 0…${this.windows})`);
    }
    this.position = { ...state };
    this.orderEpoch = state.epoch;
    this.order = this.shuffle(state.epoch);
  }

  get state(): SamplerState {
    return { ...this.position };
  }

  next(): MicroBatch {
    const { B, T } = this;
    const inputs = new Int32Array(B * T);
    const targets = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      if (this.position.cursor === this.windows) this.position = { epoch: this.position.epoch + 1, cursor: 0 };
      if (this.orderEpoch !== this.position.epoch) {
        this.order = this.shuffle(this.position.epoch);
        this.orderEpoch = this.position.epoch;
      }
      const start = this.order[this.position.cursor++] * T;
      for (let t = 0; t < T; t++) {
        inputs[b * T + t] = this.tokens[start + t];
        targets[b * T + t] = this.tokens[start + t + 1];
      }
    }
    return { B, T, inputs, targets };
  }

  private shuffle(epoch: number): Uint32Array {
    const order = new Uint32Array(this.windows);
    for (let i = 0; i < order.length; i++) order[i] = i;
    const rng = new Random(epochSeed(this.seed, epoch));
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    return order;
  }
}

/**
 * A fixed validation set: up to `maxBatches` micro-batches of windows spread evenly over the
 * validation text, the same on every call, so losses at different steps compare.
 */
export function validationBatches(tokens: Uint8Array, B: number, T: number, maxBatches: number): MicroBatch[] {
  const windows = Math.floor((tokens.length - 1) / T);
  if (windows < B) throw new RangeError(`the validation text has ${tokens.length} tokens: fewer than one micro-batch of ${B}×${T + 1}`);
  const batches = Math.min(maxBatches, Math.floor(windows / B));
  const count = batches * B;
  const out: MicroBatch[] = [];
  for (let k = 0; k < batches; k++) {
    const inputs = new Int32Array(B * T);
    const targets = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const start = Math.floor(((k * B + b) * windows) / count) * T;
      for (let t = 0; t < T; t++) {
        inputs[b * T + t] = tokens[start + t];
        targets[b * T + t] = tokens[start + t + 1];
      }
    }
    out.push({ B, T, inputs, targets });
  }
  return out;
}
