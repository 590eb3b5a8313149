import type { GptConfig } from './config.ts';
import type { ShardSpec, TaskKind } from './shard-spec.ts';

/**
 * Exact analytical FLOP counts under one stated convention, so that a task's count is a pure
 * function of (config, shard, kind, B, T) and the same everywhere it is computed (these become
 * ownership shares). A multiply-add is 2 FLOPs; matmuls and attention count exactly what they
 * compute (causal attention only the lower triangle, T·(T+1)/2 scores per head); elementwise
 * and normalisation ops count the per-element rates below.
 */
export const FLOPS_PER_ELEMENT = {
  /** mean 1, variance 3, normalise and affine 4 */
  layernormForward: 8,
  /** the two row reductions and the per-element update (10), dWeight and dBias (2) */
  layernormBackward: 12,
  /** x³, two multiply-adds, tanh, 1 + t, two multiplies */
  geluForward: 8,
  /** tanh, sech², the polynomial derivative and the product with dOut */
  geluBackward: 13,
  /** scale, max, subtract, exp, sum and divide per score */
  softmaxForward: 6,
  /** dot with the row of probabilities, subtract, multiply, scale */
  softmaxBackward: 4,
  /** softmax over the vocabulary and the log-probability of the target, per logit */
  crossEntropyForward: 5,
  /** subtract the one-hot target and scale, per logit */
  crossEntropyBackward: 2,
  /** residual add, embedding sum, or gradient accumulation */
  add: 1,
} as const;

const F = FLOPS_PER_ELEMENT;

export interface PassFlops {
  forward: number;
  /** The backward pass proper, without recomputing the forward. */
  backward: number;
}

/** A [rows, inner] @ [inner, cols] matmul with a bias, and its gradients for both operands and the bias. */
function linear(rows: number, inner: number, cols: number): PassFlops {
  const mm = 2 * rows * inner * cols;
  return { forward: mm + rows * cols, backward: 2 * mm + rows * cols };
}

function sum(...parts: PassFlops[]): PassFlops {
  return parts.reduce((a, b) => ({ forward: a.forward + b.forward, backward: a.backward + b.backward }), { forward: 0, backward: 0 });
}

function elementwise(count: number, forward: number, backward: number): PassFlops {
  return { forward: count * forward, backward: count * backward };
}

/** One transformer block over B sequences of T tokens. */
export function blockFlops(c: GptConfig, B: number, T: number): PassFlops {
  const N = B * T;
  const C = c.width;
  const headSize = C / c.heads;
  const scores = (B * c.heads * T * (T + 1)) / 2;
  const attention: PassFlops = {
    // q·k and att·v: 2·headSize per score each
    forward: scores * (4 * headSize + F.softmaxForward),
    // dAtt, dV, dQ, dK: 2·headSize per score each
    backward: scores * (8 * headSize + F.softmaxBackward),
  };
  return sum(
    elementwise(N * C, F.layernormForward, F.layernormBackward),
    linear(N, C, 3 * C),
    attention,
    linear(N, C, C),
    elementwise(N * C, F.add, F.add),
    elementwise(N * C, F.layernormForward, F.layernormBackward),
    linear(N, C, 4 * C),
    elementwise(N * 4 * C, F.geluForward, F.geluBackward),
    linear(N, 4 * C, C),
    elementwise(N * C, F.add, F.add),
  );
}

/** Token + position embedding: one add forward; two scatter-adds backward. */
export function embeddingFlops(c: GptConfig, B: number, T: number): PassFlops {
  return elementwise(B * T * c.width, F.add, 2 * F.add);
}

/** ln_f and the untied, bias-free LM head. */
export function headFlops(c: GptConfig, B: number, T: number): PassFlops {
  const N = B * T;
  const mm = 2 * N * c.width * c.vocabSize;
  return sum(elementwise(N * c.width, F.layernormForward, F.layernormBackward), { forward: mm, backward: 2 * mm });
}

export function lossFlops(c: GptConfig, B: number, T: number): PassFlops {
  return elementwise(B * T * c.vocabSize, F.crossEntropyForward, F.crossEntropyBackward);
}

function shardPasses(c: GptConfig, s: ShardSpec, B: number, T: number, withLoss: boolean): PassFlops {
  const block = blockFlops(c, B, T);
  const layers = s.endLayer - s.firstLayer;
  const parts: PassFlops[] = [{ forward: block.forward * layers, backward: block.backward * layers }];
  if (s.index === 0) parts.push(embeddingFlops(c, B, T));
  if (s.index === s.count - 1) parts.push(headFlops(c, B, T));
  if (withLoss) parts.push(lossFlops(c, B, T));
  return sum(...parts);
}

/**
 * FLOPs of one task on shard s for a micro-batch of B sequences of T tokens. A backward task
 * recomputes its forward first; the last shard's lossAndBackward runs its forward once. A
 * forward on the last shard (inference) ends at the logits.
 */
export function shardFlops(c: GptConfig, s: ShardSpec, kind: TaskKind, B: number, T: number): number {
  const last = s.index === s.count - 1;
  if ((kind === 'lossAndBackward' && !last) || (kind === 'backward' && last)) {
    throw new Error(`shard ${s.index} of ${s.count} has no '${kind}' task: the last shard trains with lossAndBackward, the others with forward and backward`);
  }
  if (kind === 'forward') return shardPasses(c, s, B, T, false).forward;
  const p = shardPasses(c, s, B, T, last);
  return p.forward + p.backward;
}

/** Everything shard s computes for one micro-batch in a training round. */
export function shardRoundFlops(c: GptConfig, s: ShardSpec, B: number, T: number): number {
  if (s.index === s.count - 1) return shardFlops(c, s, 'lossAndBackward', B, T);
  return shardFlops(c, s, 'forward', B, T) + shardFlops(c, s, 'backward', B, T);
}
