import { INIT_STD, type GptConfig } from './config.ts';
import { Random } from '@openshard/tensor';

/** One named parameter tensor in Hugging Face GPT-2 naming and layout. */
export interface ParameterSpec {
  name: string;
  shape: number[];
  /** Which layer it belongs to; -1 for the embeddings, `layers` for ln_f and the head. */
  layer: number;
  init: 'normal' | 'residual' | 'zeros' | 'ones';
  /** AdamW weight decay applies to matrices and embeddings, not to biases and LayerNorm gains. */
  decay: boolean;
}

export const TOKEN_EMBEDDING = 'transformer.wte.weight';
export const POSITION_EMBEDDING = 'transformer.wpe.weight';
export const FINAL_NORM_WEIGHT = 'transformer.ln_f.weight';
export const FINAL_NORM_BIAS = 'transformer.ln_f.bias';
export const LM_HEAD = 'lm_head.weight';

/** Names inside block i; Conv1D weights are [in, out] as in Hugging Face's GPT-2. */
export function blockNames(i: number) {
  const p = `transformer.h.${i}.`;
  return {
    ln1Weight: `${p}ln_1.weight`,
    ln1Bias: `${p}ln_1.bias`,
    attnWeight: `${p}attn.c_attn.weight`,
    attnBias: `${p}attn.c_attn.bias`,
    projWeight: `${p}attn.c_proj.weight`,
    projBias: `${p}attn.c_proj.bias`,
    ln2Weight: `${p}ln_2.weight`,
    ln2Bias: `${p}ln_2.bias`,
    fcWeight: `${p}mlp.c_fc.weight`,
    fcBias: `${p}mlp.c_fc.bias`,
    mlpProjWeight: `${p}mlp.c_proj.weight`,
    mlpProjBias: `${p}mlp.c_proj.bias`,
  };
}

export type BlockNames = ReturnType<typeof blockNames>;

/** Every parameter of the model, embeddings first, in checkpoint order. */
export function parameterSpecs(c: GptConfig): ParameterSpec[] {
  const C = c.width;
  const specs: ParameterSpec[] = [
    { name: TOKEN_EMBEDDING, shape: [c.vocabSize, C], layer: -1, init: 'normal', decay: true },
    { name: POSITION_EMBEDDING, shape: [c.contextLength, C], layer: -1, init: 'normal', decay: true },
  ];
  for (let i = 0; i < c.layers; i++) {
    const n = blockNames(i);
    const vec = (name: string, size: number, init: 'zeros' | 'ones'): ParameterSpec => ({ name, shape: [size], layer: i, init, decay: false });
    const mat = (name: string, shape: number[], init: 'normal' | 'residual'): ParameterSpec => ({ name, shape, layer: i, init, decay: true });
    specs.push(
      vec(n.ln1Weight, C, 'ones'),
      vec(n.ln1Bias, C, 'zeros'),
      mat(n.attnWeight, [C, 3 * C], 'normal'),
      vec(n.attnBias, 3 * C, 'zeros'),
      mat(n.projWeight, [C, C], 'residual'),
      vec(n.projBias, C, 'zeros'),
      vec(n.ln2Weight, C, 'ones'),
      vec(n.ln2Bias, C, 'zeros'),
      mat(n.fcWeight, [C, 4 * C], 'normal'),
      vec(n.fcBias, 4 * C, 'zeros'),
      mat(n.mlpProjWeight, [4 * C, C], 'residual'),
      vec(n.mlpProjBias, C, 'zeros'),
    );
  }
  specs.push(
    { name: FINAL_NORM_WEIGHT, shape: [C], layer: c.layers, init: 'ones', decay: false },
    { name: FINAL_NORM_BIAS, shape: [C], layer: c.layers, init: 'zeros', decay: false },
    // nn.Linear layout: [out, in]
    { name: LM_HEAD, shape: [c.vocabSize, C], layer: c.layers, init: 'normal', decay: true },
  );
  return specs;
}

export function parameterCount(specs: readonly ParameterSpec[]): number {
  return specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}

/** FNV-1a, so each parameter's random stream depends only on (seed, name), never on the partition. */
function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * GPT-2 initialisation: N(0, 0.02) for matrices and embeddings, residual projections scaled by
 * 1/√(2·layers), biases 0, LayerNorm gains 1. Seeded per parameter.
 */
export function initParameter(c: GptConfig, spec: ParameterSpec, seed: number): Float32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  switch (spec.init) {
    case 'zeros':
      return new Float32Array(n);
    case 'ones':
      return new Float32Array(n).fill(1);
    case 'normal':
      return new Random(seed ^ nameHash(spec.name)).normals(n, INIT_STD);
    case 'residual':
      return new Random(seed ^ nameHash(spec.name)).normals(n, INIT_STD / Math.sqrt(2 * c.layers));
  }
}
