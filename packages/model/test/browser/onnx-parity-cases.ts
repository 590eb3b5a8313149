import { CpuBackend } from '@openshard/tensor';
import * as ort from 'onnxruntime-web';
import { partition, preset, Shard, type GptConfig, type ParameterValues, type PresetName, type ShardSpec } from '../../src/index.ts';
import { ATTENTION_MASK, causalMask, HIDDEN_STATES, HIDDEN_STATES_OUT, INPUT_IDS, LOGITS, POSITION_IDS, shardGraph, shardGraphIo } from '../../src/onnx/index.ts';
import { batchOf, perturbedValues } from '../helpers.ts';

/**
 * Each shard's ONNX graph in onnxruntime-web, on the WebGPU and the wasm execution providers,
 * against Shard.forward on our CPU backend computed beside it: the measured errors, which the
 * spec (onnx-parity.spec.ts, through onnx-parity-page.ts in Chromium) checks against its tolerances.
 */

export type ExecutionProvider = 'webgpu' | 'wasm';

/** One comparison: the largest |difference| and that over the largest |reference|. */
export interface Measured {
  what: string;
  ep: ExecutionProvider;
  maxAbs: number;
  relative: number;
}

const B = 2;
const SHARDS = 2;
const SEED = 11;

// one thread: the numbers do not depend on how work is split; the page is cross-origin isolated anyway
ort.env.wasm.numThreads = 1;

function measure(what: string, ep: ExecutionProvider, actual: Float32Array, expected: Float32Array): Measured {
  if (actual.length !== expected.length) throw new Error(`${what} on ${ep}: ${actual.length} values, expected ${expected.length}`);
  let maxAbs = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    maxAbs = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(maxAbs, d);
    norm = Math.max(norm, Math.abs(expected[i]));
  }
  return { what, ep, maxAbs, relative: maxAbs / Math.max(norm, 1e-30) };
}

async function session(c: GptConfig, spec: ShardSpec, values: ParameterValues, ep: ExecutionProvider): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(
    shardGraph(c, spec, (p) => values.get(p.name)!),
    { executionProviders: [ep] },
  );
}

/** A step's feeds: T new positions `x` (token ids [B, T] on shard 0, else hidden states [B, T, C]) after `past` cached ones. */
function feeds(c: GptConfig, spec: ShardSpec, x: Int32Array | Float32Array, past: number, T: number, cache: ort.InferenceSession.OnnxValueMapType): Record<string, ort.Tensor> {
  const f: Record<string, ort.Tensor> = { [ATTENTION_MASK]: new ort.Tensor('float32', causalMask(past, T), [T, past + T]) };
  if (spec.index === 0) {
    f[INPUT_IDS] = new ort.Tensor(
      'int64',
      BigInt64Array.from(x, (v) => BigInt(v)),
      [B, T],
    );
    f[POSITION_IDS] = new ort.Tensor(
      'int64',
      BigInt64Array.from({ length: B * T }, (_, i) => BigInt(past + (i % T))),
      [B, T],
    );
  } else {
    f[HIDDEN_STATES] = new ort.Tensor('float32', x as Float32Array, [B, T, c.width]);
  }
  const headDim = c.width / c.heads;
  for (const input of shardGraphIo(c, spec).inputs) {
    if (!input.name.startsWith('past_key_values.')) continue;
    f[input.name] = past === 0 ? new ort.Tensor('float32', new Float32Array(0), [B, c.heads, 0, headDim]) : (cache[input.name.replace('past_key_values.', 'present.')] as ort.Tensor);
  }
  return f;
}

/** Rows [from, to) of each sequence of a row-major [B, L, W] array (token ids: W = 1). */
function rowsOf<A extends Int32Array | Float32Array>(data: A, L: number, W: number, from: number, to: number): A {
  const out = new (data.constructor as new (n: number) => A)(B * (to - from) * W);
  for (let b = 0; b < B; b++) out.set(data.subarray((b * L + from) * W, (b * L + to) * W), b * (to - from) * W);
  return out;
}

const outputOf = (spec: ShardSpec) => (spec.index === spec.count - 1 ? LOGITS : HIDDEN_STATES_OUT);

/**
 * Each shard of `name` cut in two, on `ep`: all T positions with an empty past, and the same
 * positions split into a prompt and the rest fed with the prompt's presents as past. Every shard
 * gets the CPU's input, so each is measured on its own.
 */
export async function shardParity(name: PresetName, ep: ExecutionProvider): Promise<Measured[]> {
  const c = preset(name);
  const T = c.contextLength;
  const PROMPT = Math.floor(T / 2);
  const values = perturbedValues(c, SEED);
  const be = new CpuBackend();
  const { inputs } = batchOf(c, B, T, SEED);
  const measured: Measured[] = [];
  let cpuX = null as ReturnType<Shard['forward']> | null;
  let x: Int32Array | Float32Array = inputs;
  for (const spec of partition(c, SHARDS)) {
    const shard = Shard.fromValues(be, c, spec, (p) => values.get(p.name)!);
    const y = shard.forward(cpuX ?? shard.tokens(inputs, B, T));
    const expected = (await be.read(y)) as Float32Array;
    const W = y.shape[2];
    const s = await session(c, spec, values, ep);
    const width = spec.index === 0 ? 1 : c.width;
    const full = await s.run(feeds(c, spec, x, 0, T, {}));
    measured.push(measure(`${name}, shard ${spec.index} of ${SHARDS}, T=${T}, no past`, ep, full[outputOf(spec)].data as Float32Array, expected));
    const prompt = await s.run(feeds(c, spec, rowsOf(x, T, width, 0, PROMPT), 0, PROMPT, {}));
    const rest = await s.run(feeds(c, spec, rowsOf(x, T, width, PROMPT, T), PROMPT, T - PROMPT, prompt));
    measured.push(measure(`${name}, shard ${spec.index} of ${SHARDS}, T=${T - PROMPT} after past ${PROMPT}`, ep, rest[outputOf(spec)].data as Float32Array, rowsOf(expected, T, W, PROMPT, T)));
    await s.release();
    shard.dispose();
    cpuX?.dispose();
    cpuX = y;
    x = expected;
  }
  cpuX?.dispose();
  return measured;
}

/**
 * Greedy-style decoding on `ep` through both shards: a prompt, then one token at a time with the
 * presents fed back as past. The last position's logits are measured against a full forward of
 * the same prefix on the same provider (no past), and against the CPU's full forward.
 */
export async function decodeParity(name: PresetName, ep: ExecutionProvider): Promise<Measured[]> {
  const c = preset(name);
  const [PROMPT, STEPS] = [5, 6];
  const L = PROMPT + STEPS;
  const V = c.vocabSize;
  const values = perturbedValues(c, SEED + 1);
  const be = new CpuBackend();
  const whole = Shard.fromValues(be, c, partition(c, 1)[0], (p) => values.get(p.name)!);
  const { inputs } = batchOf(c, B, L, SEED + 1);
  const specs = partition(c, SHARDS);
  const sessions = await Promise.all(specs.map((spec) => session(c, spec, values, ep)));
  /** Feeds T new tokens after `past` through both shards; `caches` hold each shard's presents. */
  const through = async (ids: Int32Array, past: number, T: number, caches: ort.InferenceSession.OnnxValueMapType[]) => {
    let x: Int32Array | Float32Array = ids;
    for (const [i, spec] of specs.entries()) {
      caches[i] = await sessions[i].run(feeds(c, spec, x, past, T, caches[i]));
      x = caches[i][outputOf(spec)].data as Float32Array;
    }
    return x as Float32Array;
  };
  const lastRow = (data: Float32Array, T: number) => rowsOf(data, T, V, T - 1, T);
  const measured: Measured[] = [];
  const caches: ort.InferenceSession.OnnxValueMapType[] = specs.map(() => ({}));
  for (let past = 0; past < L; past += past === 0 ? PROMPT : 1) {
    const T = past === 0 ? PROMPT : 1;
    const total = past + T;
    const decoded = lastRow(await through(rowsOf(inputs, L, 1, past, total), past, T, caches), T);
    const prefix = rowsOf(inputs, L, 1, 0, total);
    const full = lastRow(
      await through(
        prefix,
        0,
        total,
        specs.map(() => ({})),
      ),
      total,
    );
    const logits = whole.forward(whole.tokens(prefix, B, total));
    const cpu = lastRow((await be.read(logits)) as Float32Array, total);
    logits.dispose();
    measured.push(measure(`${name}, ${SHARDS} shards, decode past=${past} T=${T} vs full forward on ${ep}`, ep, decoded, full));
    measured.push(measure(`${name}, ${SHARDS} shards, decode past=${past} T=${T} vs CPU full forward`, ep, decoded, cpu));
  }
  for (const s of sessions) await s.release();
  whole.dispose();
  return measured;
}
