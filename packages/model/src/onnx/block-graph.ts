import { LAYERNORM_EPS, type GptConfig } from '../config.ts';
import type { BlockNames } from '../parameters.ts';
import { attentionConstants, attentionGraph, type AttentionConstants } from './attention-graph.ts';
import type { GraphBuilder } from './proto.ts';

/** GELU's tanh approximation, as `packages/tensor/src/ops/gelu.cpu.ts` (GPT-2's gelu_new). */
const GELU_SCALE = Math.sqrt(2 / Math.PI);
const GELU_CUBIC = 0.044715;

/** Initializers every block of a graph shares. */
export interface BlockConstants extends AttentionConstants {
  half: string;
  one: string;
  geluScale: string;
  geluCubic: string;
}

export function blockConstants(g: GraphBuilder, c: GptConfig): BlockConstants {
  const scalar = (name: string, v: number) => g.float32(`onnx::${name}`, [], Float32Array.of(v));
  return { ...attentionConstants(g, c), half: scalar('half', 0.5), one: scalar('one', 1), geluScale: scalar('gelu.scale', GELU_SCALE), geluCubic: scalar('gelu.cubic', GELU_CUBIC) };
}

/** LayerNormalization over the last axis with GPT-2's epsilon. */
export function layerNorm(g: GraphBuilder, x: string, weight: string, bias: string, prefix: string): string {
  return g.node('LayerNormalization', [x, weight, bias], { axis: -1, epsilon: { float: LAYERNORM_EPS } }, prefix);
}

// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
function gelu(g: GraphBuilder, k: BlockConstants, x: string, prefix: string): string {
  const cube = g.node('Mul', [x, g.node('Mul', [x, x], {}, prefix)], {}, prefix);
  const inner = g.node('Add', [x, g.node('Mul', [k.geluCubic, cube], {}, prefix)], {}, prefix);
  const t = g.node('Tanh', [g.node('Mul', [k.geluScale, inner], {}, prefix)], {}, prefix);
  return g.node('Mul', [g.node('Mul', [k.half, x], {}, prefix), g.node('Add', [k.one, t], {}, prefix)], {}, prefix);
}

/** What one block reads besides its weights: the residual stream [B, T, C], its cache and the mask. */
export interface BlockInputs {
  x: string;
  pastKey: string;
  pastValue: string;
  mask: string;
}

export interface BlockOutputs {
  /** The residual stream after the block, [B, T, C]. */
  y: string;
  presentKey: string;
  presentValue: string;
}

/** One GPT-2 block, as `blockForward`: x + attn(ln_1(x)), then + mlp(ln_2(·)). Weights are the initializers named `n`. */
export function blockGraph(g: GraphBuilder, k: BlockConstants, n: BlockNames, b: BlockInputs, prefix: string): BlockOutputs {
  const ln1 = layerNorm(g, b.x, n.ln1Weight, n.ln1Bias, `${prefix}/ln_1`);
  const attn = attentionGraph(g, k, n, { x: ln1, pastKey: b.pastKey, pastValue: b.pastValue, mask: b.mask }, `${prefix}/attn`);
  const x2 = g.node('Add', [b.x, attn.out], {}, prefix);
  const ln2 = layerNorm(g, x2, n.ln2Weight, n.ln2Bias, `${prefix}/ln_2`);
  const mlp = `${prefix}/mlp`;
  const fc = g.node('Add', [g.node('MatMul', [ln2, n.fcWeight], {}, mlp), n.fcBias], {}, mlp);
  const proj = g.node('Add', [g.node('MatMul', [gelu(g, k, fc, mlp), n.mlpProjWeight], {}, mlp), n.mlpProjBias], {}, mlp);
  return { y: g.node('Add', [x2, proj], {}, prefix), presentKey: attn.presentKey, presentValue: attn.presentValue };
}
