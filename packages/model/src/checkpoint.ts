import { describeConfig, fromHuggingFaceConfig, sameConfig, toHuggingFaceConfig, type GptConfig } from './config.ts';
import { CheckpointError, ConfigError } from './errors.ts';
import { parameterSpecs, type ParameterSpec } from './parameters.ts';
import { decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from './safetensors.ts';

/**
 * A checkpoint is a directory: `model.safetensors` (Hugging Face GPT-2 names and layouts) and a
 * GPT2Config-compatible `config.json`, so PyTorch loads it; `optimizer.safetensors` (AdamW
 * moments) beside them. This module turns values into those files' bytes and back; the
 * caller does the file I/O.
 */
export const MODEL_FILE = 'model.safetensors';
export const CONFIG_FILE = 'config.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';

export type ParameterValues = Map<string, Float32Array>;

export interface OptimizerState {
  /** Optimizer steps taken (the next step is step + 1). */
  step: number;
  moments: Map<string, { m: Float32Array; v: Float32Array }>;
}

export function encodeConfig(c: GptConfig): string {
  return `${JSON.stringify(toHuggingFaceConfig(c), null, 2)}\n`;
}

export function decodeConfig(text: string, file = CONFIG_FILE): GptConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(file, `is not valid JSON (${(e as Error).message})`);
  }
  try {
    return fromHuggingFaceConfig(json, file);
  } catch (e) {
    if (e instanceof ConfigError) throw new CheckpointError(file, e.message.replace(`${file}: `, ''));
    throw e;
  }
}

export function encodeModel(c: GptConfig, values: ParameterValues): Uint8Array {
  const tensors = new Map<string, SafetensorsTensor>();
  for (const p of parameterSpecs(c)) {
    const data = values.get(p.name);
    if (!data) throw new Error(`no values for parameter '${p.name}'`);
    tensors.set(p.name, { dtype: 'F32', shape: p.shape, data });
  }
  return encodeSafetensors(tensors, { format: 'pt' });
}

/** Checks every name, dtype, shape and value against `expected` (the config the run uses). */
export function decodeModel(bytes: Uint8Array, checkpointConfig: GptConfig, expected: GptConfig = checkpointConfig, file = MODEL_FILE): ParameterValues {
  if (!sameConfig(checkpointConfig, expected)) {
    throw new CheckpointError(CONFIG_FILE, `the checkpoint is a model of ${describeConfig(checkpointConfig)}; this run expects ${describeConfig(expected)}`);
  }
  const { tensors } = decodeSafetensors(bytes, file);
  return checkTensors(tensors, parameterSpecs(expected), file);
}

export function encodeOptimizer(c: GptConfig, state: OptimizerState): Uint8Array {
  const tensors = new Map<string, SafetensorsTensor>();
  for (const p of parameterSpecs(c)) {
    const mv = state.moments.get(p.name);
    if (!mv) throw new Error(`no optimizer moments for parameter '${p.name}'`);
    tensors.set(`${p.name}.exp_avg`, { dtype: 'F32', shape: p.shape, data: mv.m });
    tensors.set(`${p.name}.exp_avg_sq`, { dtype: 'F32', shape: p.shape, data: mv.v });
  }
  return encodeSafetensors(tensors, { step: String(state.step) });
}

export function decodeOptimizer(bytes: Uint8Array, c: GptConfig, file = OPTIMIZER_FILE): OptimizerState {
  const { tensors, metadata } = decodeSafetensors(bytes, file);
  const step = /^\d+$/.test(metadata.step ?? '') ? Number(metadata.step) : NaN;
  if (!Number.isSafeInteger(step)) throw new CheckpointError(file, `metadata 'step' is ${JSON.stringify(metadata.step)}, expected a whole number of steps`);
  const specs = parameterSpecs(c).flatMap((p) => [
    { ...p, name: `${p.name}.exp_avg` },
    { ...p, name: `${p.name}.exp_avg_sq` },
  ]);
  const values = checkTensors(tensors, specs, file);
  const moments = new Map<string, { m: Float32Array; v: Float32Array }>();
  for (const p of parameterSpecs(c)) {
    const v = values.get(`${p.name}.exp_avg_sq`)!;
    const negative = v.findIndex((x) => x < 0);
    if (negative >= 0) throw new CheckpointError(file, `tensor '${p.name}.exp_avg_sq' holds ${v[negative]} at index ${negative}; second moments are never negative`);
    moments.set(p.name, { m: values.get(`${p.name}.exp_avg`)!, v });
  }
  return { step, moments };
}

function checkTensors(tensors: Map<string, SafetensorsTensor>, specs: ParameterSpec[], file: string): ParameterValues {
  const wanted = new Set(specs.map((p) => p.name));
  const missing = specs.filter((p) => !tensors.has(p.name)).map((p) => p.name);
  const unexpected = [...tensors.keys()].filter((n) => !wanted.has(n));
  if (missing.length || unexpected.length) {
    const parts = [];
    if (missing.length) parts.push(`missing ${list(missing)}`);
    if (unexpected.length) parts.push(`unexpected ${list(unexpected)}`);
    throw new CheckpointError(file, `tensor names do not match the model: ${parts.join('; ')}`);
  }
  const values: ParameterValues = new Map();
  for (const p of specs) {
    const t = tensors.get(p.name)!;
    if (t.dtype !== 'F32') throw new CheckpointError(file, `tensor '${p.name}' has dtype ${t.dtype}, expected F32`);
    if (t.shape.join(',') !== p.shape.join(',')) {
      throw new CheckpointError(file, `tensor '${p.name}' has shape [${t.shape}], expected [${p.shape}]`);
    }
    const data = t.data as Float32Array;
    const bad = data.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new CheckpointError(file, `tensor '${p.name}' holds ${data[bad]} at index ${bad}: the weights diverged or the file is corrupted`);
    values.set(p.name, data);
  }
  return values;
}

function list(names: string[]): string {
  const shown = names
    .slice(0, 5)
    .map((n) => `'${n}'`)
    .join(', ');
  return names.length > 5 ? `${shown} and ${names.length - 5} more` : shown;
}
