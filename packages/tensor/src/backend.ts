import type { DType, Shape, Tensor, TensorData } from './tensor.ts';

export interface MatmulOptions {
  /** Use a's last two dims transposed: a is [..., K, M] instead of [..., M, K]. */
  transA?: boolean;
  /** Use b's last two dims transposed: b is [..., N, K] instead of [..., K, N]. */
  transB?: boolean;
  /** Added to every output row; shape [N]. */
  bias?: Tensor;
}

export interface MatmulGradients {
  dA: Tensor;
  dB: Tensor;
  /** Present when the forward pass had a bias. */
  dBias?: Tensor;
}

export interface LayernormResult {
  out: Tensor;
  /** Per-row mean and reciprocal standard deviation, kept for the backward pass. */
  mean: Tensor;
  rstd: Tensor;
}

export interface LayernormGradients {
  dx: Tensor;
  dWeight: Tensor;
  dBias: Tensor;
}

export interface AttentionResult {
  out: Tensor;
  /** Softmax probabilities [B, H, T, T] (zero above the diagonal), kept for the backward pass. */
  att: Tensor;
}

export interface CrossEntropyResult {
  /** Per-row loss [N]; NaN where a target is outside [0, V) on the GPU (the CPU throws). */
  losses: Tensor;
  /** Softmax probabilities [N, V], kept for the backward pass. */
  probs: Tensor;
}

/** PyTorch AdamW semantics (decoupled weight decay, bias-corrected moments). */
export interface AdamWParameters {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based optimizer step, for bias correction. */
  step: number;
}

/**
 * What a shard's forward and backward need. Ops return new tensors unless named otherwise;
 * the caller owns them and disposes them. Work may run asynchronously (WebGPU): `read`
 * and `sync` wait for it and surface any error it raised.
 */
export interface Backend {
  readonly name: 'cpu' | 'webgpu';

  /** Float64Array data is rounded to f32 except on a CPU backend with precision 'f64'. */
  upload(data: TensorData | Float64Array, shape: Shape): Tensor;
  zeros(shape: Shape, dtype?: DType): Tensor;
  /** A view with another shape of the same size; shares storage with `t`. */
  reshape(t: Tensor, shape: Shape): Tensor;
  read(t: Tensor): Promise<TensorData>;
  /** Waits for all queued work; rejects with the first error it raised. */
  sync(): Promise<void>;
  /** Frees everything the backend holds. The backend is unusable afterwards. */
  destroy(): void;
  /** True once its device is gone (WebGPU device loss): every op throws; make a new backend. */
  readonly lost: boolean;

  /** op(a) @ op(b) (+ bias). a: [M,K] or [B,M,K]; b: [K,N] (shared) or [B,K,N]. */
  matmul(a: Tensor, b: Tensor, options?: MatmulOptions): Tensor;
  matmulBackward(dOut: Tensor, a: Tensor, b: Tensor, options?: MatmulOptions): MatmulGradients;
  /** Sum over rows: x [R, C] → [C]. */
  columnSum(x: Tensor): Tensor;

  /** ids: i32 [N]; table [V, C] → [N, C]. */
  embedding(ids: Tensor, table: Tensor): Tensor;
  /** Scatter-add of dOut [N, C] into a new zeroed [V, C], in ascending position order. */
  embeddingBackward(ids: Tensor, dOut: Tensor, vocabSize: number): Tensor;

  /** x [N, C], weight [C], bias [C]. */
  layernorm(x: Tensor, weight: Tensor, bias: Tensor, eps: number): LayernormResult;
  layernormBackward(dOut: Tensor, x: Tensor, weight: Tensor, mean: Tensor, rstd: Tensor): LayernormGradients;

  /** GELU, tanh approximation. */
  gelu(x: Tensor): Tensor;
  geluBackward(x: Tensor, dOut: Tensor): Tensor;

  /** Causal self-attention. qkv [B, T, 3C] with q, k, v each [B, T, H, C/H] → out [B, T, C]. */
  attention(qkv: Tensor, heads: number): AttentionResult;
  attentionBackward(dOut: Tensor, qkv: Tensor, att: Tensor, heads: number): Tensor;

  /** Residual add: a + b, same shape. Its backward is the identity for both inputs. */
  add(a: Tensor, b: Tensor): Tensor;
  /** dst += src, in place (gradient accumulation). */
  accumulate(dst: Tensor, src: Tensor): void;

  /** logits [N, V], targets i32 [N]. */
  crossEntropy(logits: Tensor, targets: Tensor): CrossEntropyResult;
  /** dLogits = (probs − onehot(targets)) · dLoss, where dLoss is ∂L/∂loss_n (e.g. 1/N). */
  crossEntropyBackward(probs: Tensor, targets: Tensor, dLoss: number): Tensor;

  /** One AdamW step, in place on param, m and v. */
  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, hp: AdamWParameters): void;
}
