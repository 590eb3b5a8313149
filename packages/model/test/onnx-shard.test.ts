import { CpuBackend, type Tensor } from '@openshard/tensor';
import * as ort from 'onnxruntime-web';
import { afterAll, describe, expect, test } from 'vitest';
import { ConfigError, partition, preset, Shard, ShardInputError, type GptConfig, type ParameterValues, type ShardSpec } from '../src/index.ts';
import {
  ATTENTION_MASK,
  causalMask,
  HIDDEN_STATES,
  HIDDEN_STATES_OUT,
  INPUT_IDS,
  LOGITS,
  MASKED_SCORE,
  POSITION_IDS,
  presentKeyName,
  presentValueName,
  shardGraph,
  shardGraphIo,
} from '../src/onnx/index.ts';
import { batchOf, perturbedValues, shardsFrom } from './helpers.ts';

/**
 * onnxruntime-web (wasm, float32 throughout) against our CPU backend (float32 tensors, float64
 * arithmetic inside each kernel): the largest |difference| over the largest |reference|. Measured
 * ≤ 1.1e-6 on micro and tiny; 4e-6 still fails a GELU whose cubic coefficient is off by 0.03%.
 */
const RELATIVE_TOLERANCE = 4e-6;
const B = 2;
const SEED = 7;

ort.env.wasm.numThreads = 1;

interface Measured {
  what: string;
  maxAbs: number;
  relative: number;
}
const measured: Measured[] = [];

afterAll(() => {
  const rows = measured.map((m) => `${m.what.padEnd(44)} max abs ${m.maxAbs.toExponential(2)}  relative ${m.relative.toExponential(2)}`);
  console.log(`ONNX graph vs CPU backend (tolerance: relative ${RELATIVE_TOLERANCE})\n${rows.join('\n')}`);
});

/** Records the error of `actual` against `expected` and checks it against the tolerance. */
function expectClose(what: string, actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  let maxAbs = 0;
  let norm = 0;
  for (let i = 0; i < expected.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(actual[i] - expected[i]));
    norm = Math.max(norm, Math.abs(expected[i]));
  }
  expect(Number.isFinite(maxAbs), `${what}: non-finite output`).toBe(true);
  const relative = maxAbs / Math.max(norm, 1e-30);
  measured.push({ what, maxAbs, relative });
  expect(relative, what).toBeLessThanOrEqual(RELATIVE_TOLERANCE);
}

async function session(c: GptConfig, spec: ShardSpec, values: ParameterValues): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(
    shardGraph(c, spec, (p) => values.get(p.name)!),
    { executionProviders: ['wasm'] },
  );
}

/** rows [b][t] of a [B, T] batch, t from `from` to `to`, as int64 */
function int64Rows(values: (b: number, t: number) => number, from: number, to: number): ort.Tensor {
  const T = to - from;
  const data = BigInt64Array.from({ length: B * T }, (_, i) => BigInt(values(Math.floor(i / T), from + (i % T))));
  return new ort.Tensor('int64', data, [B, T]);
}

/** Inputs of one step: T new tokens (ids on shard 0, else hidden states) after `past` cached ones. */
function feeds(c: GptConfig, spec: ShardSpec, x: ort.Tensor, past: number, T: number, cache: Record<string, ort.Tensor>): Record<string, ort.Tensor> {
  const f: Record<string, ort.Tensor> = { [ATTENTION_MASK]: new ort.Tensor('float32', causalMask(past, T), [T, past + T]) };
  if (spec.index === 0) {
    f[INPUT_IDS] = x;
    f[POSITION_IDS] = int64Rows((_, t) => t, past, past + T);
  } else {
    f[HIDDEN_STATES] = x;
  }
  const headDim = c.width / c.heads;
  for (const input of shardGraphIo(c, spec).inputs) {
    if (input.name.startsWith('past_key_values.')) {
      const present = input.name.replace('past_key_values.', 'present.');
      f[input.name] = past === 0 ? new ort.Tensor('float32', new Float32Array(0), [B, c.heads, 0, headDim]) : cache[present];
    }
  }
  return f;
}

function expectPresents(c: GptConfig, spec: ShardSpec, out: ort.InferenceSession.OnnxValueMapType, total: number): void {
  for (let layer = spec.firstLayer; layer < spec.endLayer; layer++) {
    for (const name of [presentKeyName(layer), presentValueName(layer)]) expect(out[name].dims, name).toEqual([B, c.heads, total, c.width / c.heads]);
  }
}

async function readCpu(be: CpuBackend, t: Tensor): Promise<Float32Array> {
  return (await be.read(t)) as Float32Array;
}

const CASES = (['micro', 'tiny'] as const).flatMap((name) => [1, 2, 4].filter((S) => S <= preset(name).layers).map((S) => ({ name, S })));

describe('ONNX shard graph', () => {
  test.each(CASES)('behavior: each shard of $name cut into $S gives Shard.forward outputs with empty past, and presents [B, heads, T, headDim]', async ({ name, S }) => {
    const c = preset(name);
    const T = c.contextLength;
    const values = perturbedValues(c, SEED);
    const be = new CpuBackend();
    const shards = shardsFrom(be, c, S, values);
    const { inputs } = batchOf(c, B, T, SEED);
    let cpuX = shards[0].tokens(inputs, B, T);
    let onnxX = int64Rows((b, t) => inputs[b * T + t], 0, T);
    for (const shard of shards) {
      const y = shard.forward(cpuX);
      const out = await (await session(c, shard.spec, values)).run(feeds(c, shard.spec, onnxX, 0, T, {}));
      const expected = await readCpu(be, y);
      expectClose(`${name}, shard ${shard.spec.index} of ${S}, T=${T}`, out[shard.isLast ? LOGITS : HIDDEN_STATES_OUT].data as Float32Array, expected);
      expectPresents(c, shard.spec, out, T);
      // the next shard sees the same input on both sides: each shard is compared on its own
      onnxX = new ort.Tensor('float32', expected, y.shape);
      cpuX = y;
    }
    for (const s of shards) s.dispose();
  });

  test.each([2, 4])('behavior: tiny cut into %i shards, chained through hidden_states, gives the whole model’s logits', async (S) => {
    const c = preset('tiny');
    const T = 24;
    const values = perturbedValues(c, SEED + 1);
    const be = new CpuBackend();
    const whole = Shard.fromValues(be, c, partition(c, 1)[0], (p) => values.get(p.name)!);
    const { inputs } = batchOf(c, B, T, SEED + 1);
    const expected = await readCpu(be, whole.forward(whole.tokens(inputs, B, T)));
    let x = int64Rows((b, t) => inputs[b * T + t], 0, T);
    for (const spec of partition(c, S)) {
      const out = await (await session(c, spec, values)).run(feeds(c, spec, x, 0, T, {}));
      x = out[spec.index === S - 1 ? LOGITS : HIDDEN_STATES_OUT] as ort.Tensor;
    }
    expectClose(`tiny, ${S} shards chained vs 1 shard`, x.data as Float32Array, expected);
    whole.dispose();
  });

  test('behavior: decoding with the KV cache (prompt, then one token at a time, presents fed back as past) gives the logits of a full forward of each prefix', async () => {
    const c = preset('tiny');
    const [PROMPT, STEPS] = [5, 6];
    const L = PROMPT + STEPS;
    const values = perturbedValues(c, SEED + 2);
    const be = new CpuBackend();
    const whole = Shard.fromValues(be, c, partition(c, 1)[0], (p) => values.get(p.name)!);
    const { inputs } = batchOf(c, B, L, SEED + 2);
    const specs = partition(c, 2);
    const sessions = await Promise.all(specs.map((spec) => session(c, spec, values)));
    const cache: Record<string, ort.Tensor> = {};
    for (let past = 0; past < L; past += past === 0 ? PROMPT : 1) {
      const T = past === 0 ? PROMPT : 1;
      const total = past + T;
      let x = int64Rows((b, t) => inputs[b * L + t], past, total);
      for (const [i, spec] of specs.entries()) {
        const out = await sessions[i].run(feeds(c, spec, x, past, T, cache));
        expectPresents(c, spec, out, total);
        Object.assign(cache, out);
        x = out[i === specs.length - 1 ? LOGITS : HIDDEN_STATES_OUT] as ort.Tensor;
      }
      const prefix = Int32Array.from({ length: B * total }, (_, j) => inputs[Math.floor(j / total) * L + (j % total)]);
      const full = await readCpu(be, whole.forward(whole.tokens(prefix, B, total)));
      const V = c.vocabSize;
      const lastRows = (data: Float32Array, rows: number) => Float32Array.from({ length: B * V }, (_, j) => data[(Math.floor(j / V) * rows + rows - 1) * V + (j % V)]);
      expectClose(`tiny, 2 shards, decode past=${past} T=${T}, last row`, lastRows(x.data as Float32Array, T), lastRows(full, total));
    }
    whole.dispose();
  });

  test('behavior: the graph’s inputs and outputs are those shardGraphIo describes; one token with empty past runs', async () => {
    const c = preset('micro');
    const values = perturbedValues(c, SEED + 3);
    for (const spec of partition(c, 2)) {
      const s = await session(c, spec, values);
      const io = shardGraphIo(c, spec);
      expect(s.inputNames).toEqual(io.inputs.map((t) => t.name));
      expect(s.outputNames).toEqual(io.outputs.map((t) => t.name));
      const x = spec.index === 0 ? int64Rows(() => 3, 0, 1) : new ort.Tensor('float32', new Float32Array(B * c.width).fill(0.5), [B, 1, c.width]);
      expectPresents(c, spec, await s.run(feeds(c, spec, x, 0, 1, {})), 1);
    }
  });

  test('behavior: causalMask lets query t attend to keys up to past + t, additively', () => {
    const m = causalMask(2, 3);
    expect(m.length).toBe(3 * 5);
    const allowed = Array.from(m, (v) => (v === 0 ? 1 : 0));
    expect(allowed).toEqual([1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1]);
    expect(Math.min(...m)).toBe(MASKED_SCORE);
  });

  test('error: values of the wrong length, a bad mask size and a shard outside the model are refused', () => {
    const c = preset('micro');
    const spec = partition(c, 1)[0];
    expect(() => shardGraph(c, spec, (p) => new Float32Array(p.name === 'transformer.h.1.mlp.c_fc.bias' ? 3 : p.shape.reduce((a, b) => a * b, 1)))).toThrow(ShardInputError);
    expect(() => causalMask(-1, 2)).toThrow(/past must be an integer ≥ 0/);
    expect(() => shardGraph(c, { ...spec, endLayer: c.layers + 1 }, (p) => new Float32Array(p.shape.reduce((a, b) => a * b, 1)))).toThrow(ConfigError);
  });
});
