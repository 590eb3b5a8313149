import { ConfigError } from './errors.ts';

/** The shape of a GPT-2 model. Field meanings follow Hugging Face's GPT2Config. */
export interface GptConfig {
  vocabSize: number;
  /** Longest sequence the position embedding covers (n_positions). */
  contextLength: number;
  layers: number;
  heads: number;
  /** Residual stream width (n_embd). */
  width: number;
}

/** LayerNorm epsilon, as GPT-2. */
export const LAYERNORM_EPS = 1e-5;
/** Std of the normal every weight matrix and embedding starts from (GPT-2's initializer_range). */
export const INIT_STD = 0.02;
/** The byte tokenizer's vocabulary. */
export const BYTE_VOCAB = 256;

export const PRESETS = {
  /** For tests and demos on software WebGPU: a few seconds per round in a browser without a GPU. */
  micro: { vocabSize: BYTE_VOCAB, contextLength: 32, layers: 2, heads: 2, width: 64 },
  /** nanoGPT's CPU run. */
  tiny: { vocabSize: BYTE_VOCAB, contextLength: 64, layers: 4, heads: 4, width: 128 },
  small: { vocabSize: BYTE_VOCAB, contextLength: 256, layers: 6, heads: 6, width: 384 },
  /** GPT-2 124M with its BPE vocabulary. */
  gpt2: { vocabSize: 50257, contextLength: 1024, layers: 12, heads: 12, width: 768 },
} as const satisfies Record<string, GptConfig>;

export type PresetName = keyof typeof PRESETS;

export function preset(name: string): GptConfig {
  if (!(name in PRESETS)) {
    throw new ConfigError(`unknown preset '${name}'; choose one of ${Object.keys(PRESETS).join(', ')}`);
  }
  return { ...PRESETS[name as PresetName] };
}

/** Throws a ConfigError naming the first field that makes the model impossible. */
export function validateConfig(c: GptConfig): GptConfig {
  for (const key of ['vocabSize', 'contextLength', 'layers', 'heads', 'width'] as const) {
    const v = c[key];
    if (!Number.isInteger(v) || v < 1) throw new ConfigError(`config.${key} is ${v}; it must be a positive integer`);
  }
  if (c.width % c.heads !== 0) {
    throw new ConfigError(`config.width ${c.width} is not divisible by config.heads ${c.heads}`);
  }
  return c;
}

/** Hugging Face GPT2Config fields, so `GPT2LMHeadModel.from_pretrained(dir)` loads our checkpoints. */
export function toHuggingFaceConfig(c: GptConfig): Record<string, unknown> {
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: c.vocabSize,
    n_positions: c.contextLength,
    n_embd: c.width,
    n_layer: c.layers,
    n_head: c.heads,
    n_inner: null,
    activation_function: 'gelu_new',
    layer_norm_epsilon: LAYERNORM_EPS,
    initializer_range: INIT_STD,
    resid_pdrop: 0,
    embd_pdrop: 0,
    attn_pdrop: 0,
    tie_word_embeddings: false,
    bos_token_id: null,
    eos_token_id: null,
    torch_dtype: 'float32',
  };
}

/** Reads a GPT2Config-compatible object back, refusing anything our model does not implement. */
export function fromHuggingFaceConfig(json: unknown, file = 'config.json'): GptConfig {
  if (typeof json !== 'object' || json === null) throw new ConfigError(`${file}: expected a JSON object`);
  const o = json as Record<string, unknown>;
  const field = (name: string): number => {
    const v = o[name];
    if (typeof v !== 'number') throw new ConfigError(`${file}: '${name}' is ${JSON.stringify(v)}, expected a number`);
    return v;
  };
  const expect = (name: string, allowed: unknown[]) => {
    if (name in o && !allowed.includes(o[name])) {
      throw new ConfigError(`${file}: '${name}' is ${JSON.stringify(o[name])}; this model supports ${allowed.map((a) => JSON.stringify(a)).join(' or ')}`);
    }
  };
  expect('model_type', ['gpt2']);
  expect('activation_function', ['gelu_new']);
  expect('tie_word_embeddings', [false]);
  expect('n_inner', [null, 4 * field('n_embd')]);
  expect('layer_norm_epsilon', [LAYERNORM_EPS]);
  // GPT2Config options that change the computation
  expect('scale_attn_weights', [true]);
  expect('scale_attn_by_inverse_layer_idx', [false]);
  expect('add_cross_attention', [false]);
  return validateConfig({
    vocabSize: field('vocab_size'),
    contextLength: field('n_positions'),
    layers: field('n_layer'),
    heads: field('n_head'),
    width: field('n_embd'),
  });
}

export function sameConfig(a: GptConfig, b: GptConfig): boolean {
  return a.vocabSize === b.vocabSize && a.contextLength === b.contextLength && a.layers === b.layers && a.heads === b.heads && a.width === b.width;
}

export function describeConfig(c: GptConfig): string {
  return `${c.layers} layers, ${c.heads} heads, width ${c.width}, context ${c.contextLength}, vocabulary ${c.vocabSize}`;
}
