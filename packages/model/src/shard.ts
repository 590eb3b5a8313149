import { formatShape, type Backend, type DType, type LayernormResult, type Tensor } from '@openshard/tensor';
import { blockBackward, blockForward, type BlockCache, type PassDims } from './block.ts';
import { describeConfig, LAYERNORM_EPS, sameConfig, type GptConfig } from './config.ts';
import { ConfigError, ShardInputError } from './errors.ts';
import type { LowRankBoundary } from './low-rank-boundary.ts';
import { initParameter, blockNames, FINAL_NORM_BIAS, FINAL_NORM_WEIGHT, LM_HEAD, POSITION_EMBEDDING, TOKEN_EMBEDDING, type ParameterSpec } from './parameters.ts';
import { shardParameterSpecs } from './partition.ts';
import { describeShard, type ShardSpec } from './shard-spec.ts';
import { PositionIds } from './position-ids.ts';
import { TensorScope, type GradientSink } from './scope.ts';

export interface ShardBackwardResult {
  /** ∂L/∂x, the gradient to send to the previous shard; absent on shard 0 (its input is token ids). */
  dx?: Tensor;
  /** ∂L/∂w for every parameter of this shard, by name. The caller owns and disposes them. */
  grads: Map<string, Tensor>;
}

export interface LossAndBackwardResult extends ShardBackwardResult {
  /** Mean cross-entropy (nats) over the micro-batch's B·T targets. */
  loss: number;
}

export interface LossOptions {
  /**
   * ∂L/∂loss_n for every target n: 1/(B·T) makes the gradients those of this micro-batch's mean
   * loss; 1/(B·T·M) those of the mean over a round of M micro-batches.
   */
  lossScale?: number;
}

export interface ShardOptions {
  /**
   * The model's low-rank boundary, shared by all its shards (docs/boundary-compression.md):
   * blocks write only into the span of its basis, and `runMicroBatch` sends z and dz across
   * stage boundaries instead of x and dx. Absent: the dense model.
   */
  boundary?: LowRankBoundary;
}

interface Trunk {
  /** The hidden state after the shard's last block, (N, C). */
  h: Tensor;
  caches: BlockCache[];
}

/**
 * One pipeline stage of the GPT and its weights on a backend. Tasks are stateless: each call
 * depends only on the weights and its inputs. `backward` recomputes the forward it needs.
 */
export class Shard {
  readonly parameters: ParameterSpec[];
  readonly boundary?: LowRankBoundary;
  private readonly positions: PositionIds;

  constructor(
    readonly backend: Backend,
    readonly config: GptConfig,
    readonly spec: ShardSpec,
    /** Owned by the shard; replaced in place by the optimizer. */
    readonly weights: Map<string, Tensor>,
    options: ShardOptions = {},
  ) {
    this.parameters = shardParameterSpecs(config, spec);
    this.positions = new PositionIds(backend, config.contextLength);
    this.boundary = options.boundary;
    if (this.boundary && !sameConfig(this.boundary.config, config)) {
      throw new ConfigError(`the low-rank boundary is for a model of ${describeConfig(this.boundary.config)}; ${describeShard(spec)} is of ${describeConfig(config)}`);
    }
    for (const p of this.parameters) {
      const t = weights.get(p.name);
      if (!t) throw new ShardInputError(`${describeShard(spec)} is missing parameter '${p.name}'`);
      if (formatShape(t.shape) !== formatShape(p.shape)) {
        throw new ShardInputError(`parameter '${p.name}' has shape ${formatShape(t.shape)}, expected ${formatShape(p.shape)}`);
      }
    }
  }

  /** Uploads the given values (e.g. from a checkpoint) for every parameter of the shard. */
  static fromValues(be: Backend, config: GptConfig, spec: ShardSpec, values: (p: ParameterSpec) => Float32Array, options?: ShardOptions): Shard {
    const weights = new Map<string, Tensor>();
    for (const p of shardParameterSpecs(config, spec)) weights.set(p.name, be.upload(values(p), p.shape));
    return new Shard(be, config, spec, weights, options);
  }

  /** GPT-2 initialisation; the values depend only on (seed, parameter), not on the partition. */
  static init(be: Backend, config: GptConfig, spec: ShardSpec, seed: number, options?: ShardOptions): Shard {
    return Shard.fromValues(be, config, spec, (p) => initParameter(config, p, seed), options);
  }

  get isFirst(): boolean {
    return this.spec.index === 0;
  }

  get isLast(): boolean {
    return this.spec.index === this.spec.count - 1;
  }

  /** Checks token ids against the vocabulary and uploads them as i32 [B, T]. */
  tokens(ids: Int32Array, B: number, T: number, name = 'tokens'): Tensor {
    if (ids.length !== B * T) throw new ShardInputError(`${name} has ${ids.length} ids, expected B·T = ${B}·${T} = ${B * T}`);
    this.expectLength(name, T);
    const V = this.config.vocabSize;
    for (let i = 0; i < ids.length; i++) {
      if (!(ids[i] >= 0 && ids[i] < V)) throw new ShardInputError(`${name}[${i}] is ${ids[i]}, outside the vocabulary [0, ${V})`);
    }
    return this.backend.upload(ids, [B, T]);
  }

  /** x: i32 [B, T] token ids on shard 0, else f32 [B, T, C]. Returns f32 [B, T, C], or logits [B, T, V] on the last shard. */
  forward(x: Tensor): Tensor {
    const d = this.inputDims(x);
    const scope = new TensorScope();
    try {
      const { h } = this.trunk(x, d, false, scope);
      if (!this.isLast) return this.backend.reshape(h, [d.B, d.T, d.C]);
      const { logits } = this.head(h, scope);
      return this.backend.reshape(logits, [d.B, d.T, this.config.vocabSize]);
    } finally {
      scope.dispose();
    }
  }

  /** Recomputes the forward from x, then back-propagates dy (f32 [B, T, C], the gradient of this shard's output). */
  backward(x: Tensor, dy: Tensor): ShardBackwardResult {
    if (this.isLast) throw new ShardInputError(`${describeShard(this.spec)} is the last shard: use lossAndBackward`);
    const d = this.inputDims(x);
    this.expectShape('dy', dy, 'f32', [d.B, d.T, d.C]);
    const scope = new TensorScope();
    const grads = new Map<string, Tensor>();
    try {
      const { caches } = this.trunk(x, d, true, scope);
      const dyRows = scope.keep(this.backend.reshape(dy, [d.B * d.T, d.C]));
      const dx = this.trunkBackward(x, d, caches, dyRows, grads, scope);
      return { dx, grads };
    } catch (e) {
      for (const g of grads.values()) g.dispose();
      throw e;
    } finally {
      scope.dispose();
    }
  }

  /** Last shard: forward, mean cross-entropy against targets (i32 [B, T]), and the whole backward pass. */
  async lossAndBackward(x: Tensor, targets: Tensor, options: LossOptions = {}): Promise<LossAndBackwardResult> {
    if (!this.isLast) throw new ShardInputError(`${describeShard(this.spec)} has no loss: only the last shard computes it`);
    const be = this.backend;
    const d = this.inputDims(x);
    this.expectShape('targets', targets, 'i32', [d.B, d.T]);
    const N = d.B * d.T;
    const scope = new TensorScope();
    const grads = new Map<string, Tensor>();
    try {
      const { h, caches } = this.trunk(x, d, true, scope);
      const { ln, logits } = this.head(h, scope);
      const flatTargets = scope.keep(be.reshape(targets, [N]));
      const ce = be.crossEntropy(logits, flatTargets);
      scope.keep(ce.losses), scope.keep(ce.probs);
      const dLogits = scope.keep(be.crossEntropyBackward(ce.probs, flatTargets, options.lossScale ?? 1 / N));
      const sink: GradientSink = (name, g) => grads.set(name, g);
      const gHead = be.matmulBackward(dLogits, ln.out, this.weight(LM_HEAD), { transB: true });
      sink(LM_HEAD, gHead.dB);
      const gNorm = be.layernormBackward(scope.keep(gHead.dA), h, this.weight(FINAL_NORM_WEIGHT), ln.mean, ln.rstd);
      sink(FINAL_NORM_WEIGHT, gNorm.dWeight);
      sink(FINAL_NORM_BIAS, gNorm.dBias);
      const dx = this.trunkBackward(x, d, caches, scope.keep(gNorm.dx), grads, scope);
      const losses = await be.read(ce.losses);
      let total = 0;
      for (let i = 0; i < losses.length; i++) total += losses[i];
      return { loss: total / N, dx, grads };
    } catch (e) {
      for (const g of grads.values()) g.dispose();
      throw e;
    } finally {
      scope.dispose();
    }
  }

  /** Mean cross-entropy without gradients (validation). */
  async loss(x: Tensor, targets: Tensor): Promise<number> {
    if (!this.isLast) throw new ShardInputError(`${describeShard(this.spec)} has no loss: only the last shard computes it`);
    const d = this.inputDims(x);
    this.expectShape('targets', targets, 'i32', [d.B, d.T]);
    const scope = new TensorScope();
    try {
      const { h } = this.trunk(x, d, false, scope);
      const { logits } = this.head(h, scope);
      const ce = this.backend.crossEntropy(logits, scope.keep(this.backend.reshape(targets, [d.B * d.T])));
      scope.keep(ce.losses), scope.keep(ce.probs);
      const losses = await this.backend.read(ce.losses);
      let total = 0;
      for (let i = 0; i < losses.length; i++) total += losses[i];
      return total / losses.length;
    } finally {
      scope.dispose();
    }
  }

  dispose(): void {
    for (const t of this.weights.values()) t.dispose();
    this.positions.dispose();
  }

  private weight(name: string): Tensor {
    return this.weights.get(name)!;
  }

  /** Embeddings (shard 0) and the shard's blocks. Everything, h included, is in `scope`. */
  private trunk(x: Tensor, d: PassDims, keepCaches: boolean, scope: TensorScope): Trunk {
    const be = this.backend;
    const N = d.B * d.T;
    let h: Tensor;
    if (this.isFirst) {
      const ids = scope.keep(be.reshape(x, [N]));
      const tok = scope.keep(be.embedding(ids, this.weight(TOKEN_EMBEDDING)));
      const pos = scope.keep(be.embedding(this.positions.of(d.B, d.T), this.weight(POSITION_EMBEDDING)));
      h = be.add(tok, pos);
    } else {
      h = be.reshape(x, [N, d.C]);
    }
    const caches: BlockCache[] = [];
    for (let layer = this.spec.firstLayer; layer < this.spec.endLayer; layer++) {
      if (keepCaches) {
        const { y, cache } = blockForward(be, this.weights, blockNames(layer), h, d, scope, this.boundary);
        caches.push(cache);
        scope.keep(h); // the block's input: its backward needs it
        h = y;
      } else {
        const blockScope = new TensorScope();
        try {
          const { y } = blockForward(be, this.weights, blockNames(layer), h, d, blockScope, this.boundary);
          h.dispose();
          h = y;
        } finally {
          blockScope.dispose();
        }
      }
    }
    scope.keep(h);
    return { h, caches };
  }

  /** Back through the blocks (and the embeddings on shard 0). Returns dx, or undefined on shard 0. */
  private trunkBackward(x: Tensor, d: PassDims, caches: BlockCache[], dh: Tensor, grads: Map<string, Tensor>, scope: TensorScope): Tensor | undefined {
    const be = this.backend;
    const sink: GradientSink = (name, g) => grads.set(name, g);
    let dy = dh;
    for (let i = caches.length - 1; i >= 0; i--) {
      dy = scope.keep(blockBackward(be, this.weights, blockNames(this.spec.firstLayer + i), caches[i], dy, d, sink, scope, this.boundary));
    }
    if (!this.isFirst) return be.reshape(dy, [d.B, d.T, d.C]);
    const ids = scope.keep(be.reshape(x, [d.B * d.T]));
    sink(TOKEN_EMBEDDING, be.embeddingBackward(ids, dy, this.config.vocabSize));
    sink(POSITION_EMBEDDING, be.embeddingBackward(this.positions.of(d.B, d.T), dy, this.config.contextLength));
    return undefined;
  }

  private head(h: Tensor, scope: TensorScope): { ln: LayernormResult; logits: Tensor } {
    const be = this.backend;
    const ln = be.layernorm(h, this.weight(FINAL_NORM_WEIGHT), this.weight(FINAL_NORM_BIAS), LAYERNORM_EPS);
    scope.keep(ln.out), scope.keep(ln.mean), scope.keep(ln.rstd);
    const logits = scope.keep(be.matmul(ln.out, this.weight(LM_HEAD), { transB: true }));
    return { ln, logits };
  }

  private inputDims(x: Tensor): PassDims {
    const C = this.config.width;
    if (this.isFirst) {
      if (x.dtype !== 'i32' || x.shape.length !== 2) {
        throw new ShardInputError(`tensor 'x' is ${x}, expected i32 token ids [B, T] for ${describeShard(this.spec)}`);
      }
    } else if (x.dtype !== 'f32' || x.shape.length !== 3 || x.shape[2] !== C) {
      throw new ShardInputError(`tensor 'x' is ${x}, expected f32 [B, T, ${C}] for ${describeShard(this.spec)}`);
    }
    const [B, T] = x.shape;
    this.expectLength('x', T);
    return { B, T, C, heads: this.config.heads };
  }

  private expectLength(name: string, T: number): void {
    if (T < 1 || T > this.config.contextLength) {
      throw new ShardInputError(`tensor '${name}' has ${T} positions per sequence; it must have 1 to ${this.config.contextLength} (the context length)`);
    }
  }

  private expectShape(name: string, t: Tensor, dtype: DType, shape: number[]): void {
    if (t.dtype !== dtype || formatShape(t.shape) !== formatShape(shape)) {
      throw new ShardInputError(`tensor '${name}' is ${t}, expected ${dtype}${formatShape(shape)} for ${describeShard(this.spec)}`);
    }
  }
}
