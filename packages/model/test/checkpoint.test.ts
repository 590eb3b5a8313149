import { describe, expect, test } from 'vitest';
import {
  CheckpointError,
  decodeConfig,
  decodeModel,
  decodeOptimizer,
  decodeSafetensors,
  encodeConfig,
  encodeModel,
  encodeOptimizer,
  encodeSafetensors,
  parameterSpecs,
  preset,
  type GptConfig,
  type SafetensorsTensor,
} from '../src/index.ts';
import { perturbedValues, TOY } from './helpers.ts';

const values = perturbedValues(TOY, 4);

function damaged(bytes: Uint8Array, at: number): Uint8Array {
  const copy = bytes.slice();
  copy[at] ^= 0x40;
  return copy;
}

describe('model checkpoint', () => {
  test('behavior: round-trips every parameter bit for bit, in Hugging Face names and layouts', () => {
    const bytes = encodeModel(TOY, values);
    const back = decodeModel(bytes, TOY);
    expect([...back.keys()]).toEqual(parameterSpecs(TOY).map((p) => p.name));
    for (const [name, v] of values) expect(back.get(name)).toEqual(v);
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
    expect(header['transformer.h.0.attn.c_attn.weight']).toMatchObject({ dtype: 'F32', shape: [8, 24] });
    expect(header['transformer.h.3.mlp.c_proj.weight']).toMatchObject({ dtype: 'F32', shape: [32, 8] });
    expect(header['lm_head.weight']).toMatchObject({ dtype: 'F32', shape: [23, 8] });
    expect(header.__metadata__.format).toBe('pt');
  });

  test('behavior: config.json is GPT2Config-compatible and reads back to the same config', () => {
    const json = JSON.parse(encodeConfig(TOY));
    expect(json).toMatchObject({ model_type: 'gpt2', n_embd: 8, n_layer: 4, n_head: 2, n_positions: 8, vocab_size: 23, activation_function: 'gelu_new', tie_word_embeddings: false });
    expect(decodeConfig(encodeConfig(TOY))).toEqual(TOY);
  });

  test('error: a truncated file says so, wherever it was cut', () => {
    const bytes = encodeModel(TOY, values);
    expect(() => decodeModel(bytes.subarray(0, 5), TOY)).toThrow('shorter than the 8-byte header length: truncated');
    expect(() => decodeModel(bytes.subarray(0, 100), TOY)).toThrow(/header claims \d+ bytes but only 92 follow: truncated/);
    expect(() => decodeModel(bytes.subarray(0, bytes.length - 4), TOY)).toThrow(/ends at byte \d+ of the data section, which has only \d+: truncated/);
  });

  test('error: a damaged header or damaged tensor bytes are caught', () => {
    const bytes = encodeModel(TOY, values);
    expect(() => decodeModel(damaged(bytes, 9), TOY)).toThrow(/header is not valid JSON .*: corrupted/);
    expect(() => decodeModel(damaged(bytes, bytes.length - 10), TOY)).toThrow(/tensor bytes have CRC-32 [0-9a-f]+, the header recorded [0-9a-f]+: the file is corrupted/);
    const huge = bytes.slice();
    new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
    expect(() => decodeModel(huge, TOY)).toThrow('above the limit of 100000000 bytes');
    const header = new TextEncoder().encode('{"w": null}');
    const nullEntry = new Uint8Array(8 + header.length);
    new DataView(nullEntry.buffer).setBigUint64(0, BigInt(header.length), true);
    nullEntry.set(header, 8);
    expect(() => decodeModel(nullEntry, TOY)).toThrow("tensor 'w' has header null, not an object");
  });

  test('error: a checkpoint of another model names both configs', () => {
    const other: GptConfig = { ...TOY, layers: 2 };
    expect(() => decodeModel(encodeModel(other, perturbedValues(other, 1)), other, TOY)).toThrow(
      'config.json: the checkpoint is a model of 2 layers, 2 heads, width 8, context 8, vocabulary 23; this run expects 4 layers',
    );
  });

  test('error: missing, unexpected, misshapen, mistyped and non-finite tensors are each named', () => {
    const tensors = new Map<string, SafetensorsTensor>(parameterSpecs(TOY).map((p) => [p.name, { dtype: 'F32', shape: p.shape, data: values.get(p.name)! }]));
    const variant = (edit: (m: typeof tensors) => void) => {
      const m = new Map(tensors);
      edit(m);
      return encodeSafetensors(m);
    };
    expect(() =>
      decodeModel(
        variant((m) => m.delete('transformer.ln_f.bias')),
        TOY,
      ),
    ).toThrow("tensor names do not match the model: missing 'transformer.ln_f.bias'");
    expect(() =>
      decodeModel(
        variant((m) => m.set('transformer.h.9.ln_1.weight', m.get('transformer.ln_f.bias')!)),
        TOY,
      ),
    ).toThrow("unexpected 'transformer.h.9.ln_1.weight'");
    expect(() =>
      decodeModel(
        variant((m) => m.set('transformer.wpe.weight', { dtype: 'F32', shape: [4, 16], data: values.get('transformer.wpe.weight')! })),
        TOY,
      ),
    ).toThrow("tensor 'transformer.wpe.weight' has shape [4,16], expected [8,8]");
    expect(() =>
      decodeModel(
        variant((m) => m.set('transformer.ln_f.bias', { dtype: 'I32', shape: [8], data: new Int32Array(8) })),
        TOY,
      ),
    ).toThrow("tensor 'transformer.ln_f.bias' has dtype I32, expected F32");
    const nan = Float32Array.from(values.get('transformer.h.1.attn.c_proj.bias')!);
    nan[3] = NaN;
    expect(() =>
      decodeModel(
        variant((m) => m.set('transformer.h.1.attn.c_proj.bias', { dtype: 'F32', shape: [8], data: nan })),
        TOY,
      ),
    ).toThrow("tensor 'transformer.h.1.attn.c_proj.bias' holds NaN at index 3");
    expect(() =>
      decodeModel(
        variant(() => {}),
        TOY,
      ),
    ).not.toThrow();
  });

  test('error: a config.json for something else is refused with the field', () => {
    expect(() => decodeConfig('{"model_type": "llama"}')).toThrow(CheckpointError);
    expect(() => decodeConfig(JSON.stringify({ ...JSON.parse(encodeConfig(TOY)), activation_function: 'relu' }))).toThrow(`'activation_function' is "relu"; this model supports "gelu_new"`);
    expect(() => decodeConfig(JSON.stringify({ ...JSON.parse(encodeConfig(TOY)), n_head: 3 }))).toThrow('config.width 8 is not divisible by config.heads 3');
    expect(() => decodeConfig('{ nope')).toThrow('config.json: is not valid JSON');
  });
});

describe('optimizer checkpoint', () => {
  test('behavior: moments and step round-trip; a mismatched model is refused', () => {
    const moments = new Map(parameterSpecs(TOY).map((p) => [p.name, { m: values.get(p.name)!, v: values.get(p.name)!.map(Math.abs) }]));
    const back = decodeOptimizer(encodeOptimizer(TOY, { step: 42, moments }), TOY);
    expect(back.step).toBe(42);
    for (const [name, mv] of moments) expect(back.moments.get(name)).toEqual(mv);
    expect(() => decodeOptimizer(encodeOptimizer(TOY, { step: Number('') as number, moments }), TOY)).not.toThrow(); // 0 is a step
    const withStep = (step: string) => {
      const tensors = new Map<string, SafetensorsTensor>();
      for (const [name, mv] of moments) {
        const shape = parameterSpecs(TOY).find((p) => p.name === name)!.shape;
        tensors.set(`${name}.exp_avg`, { dtype: 'F32', shape, data: mv.m });
        tensors.set(`${name}.exp_avg_sq`, { dtype: 'F32', shape, data: mv.v });
      }
      return encodeSafetensors(tensors, { step });
    };
    for (const bad of ['', ' ', '0x10', '1e3', '-1']) expect(() => decodeOptimizer(withStep(bad), TOY), bad).toThrow('expected a whole number of steps');
    const negative = new Map(moments);
    const v = Float32Array.from(moments.get('transformer.ln_f.bias')!.v);
    v[2] = -1;
    negative.set('transformer.ln_f.bias', { m: moments.get('transformer.ln_f.bias')!.m, v });
    expect(() => decodeOptimizer(encodeOptimizer(TOY, { step: 1, moments: negative }), TOY)).toThrow("tensor 'transformer.ln_f.bias.exp_avg_sq' holds -1 at index 2");
    expect(() => decodeOptimizer(encodeOptimizer(TOY, { step: 42, moments }), preset('tiny'))).toThrow("tensor 'transformer.wte.weight.exp_avg' has shape [23,8], expected [256,128]");
  });
});

describe('safetensors', () => {
  test('behavior: reads I32 tensors and files without our CRC (written elsewhere)', () => {
    const bytes = encodeSafetensors(new Map([['ids', { dtype: 'I32' as const, shape: [2, 2], data: Int32Array.from([1, -2, 3, 4]) }]]));
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
    delete header.__metadata__;
    const text = new TextEncoder().encode(JSON.stringify(header));
    const plain = new Uint8Array(8 + text.length + 16);
    new DataView(plain.buffer).setBigUint64(0, BigInt(text.length), true);
    plain.set(text, 8);
    plain.set(bytes.subarray(8 + headerLength), 8 + text.length);
    expect(decodeSafetensors(plain, 'x').tensors.get('ids')!.data).toEqual(Int32Array.from([1, -2, 3, 4]));
  });
});
