import type { GptConfig } from '../config.ts';
import type { BlockNames } from '../parameters.ts';
import type { GraphBuilder } from './proto.ts';

/** Shapes and scalars every attention subgraph of a graph shares, defined once as initializers. */
export interface AttentionConstants {
  /** Split sizes of c_attn's output into q, k, v: [C, C, C]. */
  qkvSplit: string;
  /** [B, T, C] → [B, T, heads, headDim] (0 copies the input's dimension). */
  headShape: string;
  /** [B, T, heads, headDim] → [B, T, C]. */
  mergeShape: string;
  /** 1/√headDim, as our attention kernel scales q·k. */
  scale: string;
}

export function attentionConstants(g: GraphBuilder, c: GptConfig): AttentionConstants {
  const headDim = c.width / c.heads;
  return {
    qkvSplit: g.int64('onnx::attn.qkv_split', [3], [c.width, c.width, c.width]),
    headShape: g.int64('onnx::attn.head_shape', [4], [0, 0, c.heads, headDim]),
    mergeShape: g.int64('onnx::attn.merge_shape', [3], [0, 0, c.width]),
    scale: g.float32('onnx::attn.scale', [], Float32Array.of(1 / Math.sqrt(headDim))),
  };
}

/** The values an attention subgraph reads: the normalised input and this layer's cache. */
export interface AttentionInputs {
  /** ln_1's output, [B, T, C]. */
  x: string;
  /** [B, heads, P, headDim] each. */
  pastKey: string;
  pastValue: string;
  /** Additive, [T, P + T]. */
  mask: string;
}

export interface AttentionOutputs {
  /** c_proj's output, [B, T, C]: what the block adds to its residual stream. */
  out: string;
  /** [B, heads, P + T, headDim] each. */
  presentKey: string;
  presentValue: string;
}

/**
 * Causal self-attention over the cache and the T new tokens:
 * softmax(q·kᵀ/√headDim + mask)·v per head, then c_proj. Matches `attentionForward` for P = 0.
 */
export function attentionGraph(g: GraphBuilder, k: AttentionConstants, n: BlockNames, a: AttentionInputs, prefix: string): AttentionOutputs {
  const qkv = g.node('Add', [g.node('MatMul', [a.x, n.attnWeight], {}, prefix), n.attnBias], {}, prefix);
  const [q, key, value] = g.nodeN('Split', [qkv, k.qkvSplit], 3, { axis: 2 }, prefix);
  // [B, T, C] → [B, heads, T, headDim]
  const heads = (t: string) => g.node('Transpose', [g.node('Reshape', [t, k.headShape], {}, prefix)], { perm: [0, 2, 1, 3] }, prefix);
  const presentKey = g.node('Concat', [a.pastKey, heads(key)], { axis: 2 }, prefix);
  const presentValue = g.node('Concat', [a.pastValue, heads(value)], { axis: 2 }, prefix);
  const keyT = g.node('Transpose', [presentKey], { perm: [0, 1, 3, 2] }, prefix);
  const scores = g.node('Mul', [g.node('MatMul', [heads(q), keyT], {}, prefix), k.scale], {}, prefix);
  const probs = g.node('Softmax', [g.node('Add', [scores, a.mask], {}, prefix)], { axis: -1 }, prefix);
  // [B, heads, T, headDim] → [B, T, C]
  const merged = g.node('Transpose', [g.node('MatMul', [probs, presentValue], {}, prefix)], { perm: [0, 2, 1, 3] }, prefix);
  const rows = g.node('Reshape', [merged, k.mergeShape], {}, prefix);
  const out = g.node('Add', [g.node('MatMul', [rows, n.projWeight], {}, prefix), n.projBias], {}, prefix);
  return { out, presentKey, presentValue };
}
