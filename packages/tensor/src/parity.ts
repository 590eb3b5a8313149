import type { Backend, MatmulOptions } from './backend.ts';
import { Random } from './random.ts';
import type { Tensor, TensorData } from './tensor.ts';

/**
 * Every op, forward and backward, as cases that run the same seeded inputs on any backend.
 * The parity suite runs each on the CPU reference and on WebGPU and compares every output;
 * it runs in Node (Dawn) under Vitest, in Chromium under Playwright, and on the GPU check page
 * a volunteer runs before contributing.
 */

// tinygrad's test_ops tolerances (STYLE.md): allclose(gpu, cpu) with |g − c| ≤ atol + rtol·|c|.
export const FORWARD_TOLERANCE = { atol: 1e-6, rtol: 1e-3 };
export const GRADIENT_TOLERANCE = { atol: 1e-4, rtol: 1e-3 };

export type Outputs = Record<string, TensorData>;

export interface ParityCase {
  name: string;
  /** Outputs whose names start with 'd' are gradients and use GRADIENT_TOLERANCE. */
  run(be: Backend, rng: Random): Promise<Outputs>;
}

async function readAll(be: Backend, named: Record<string, Tensor>): Promise<Outputs> {
  const out: Outputs = {};
  for (const [k, t] of Object.entries(named)) out[k] = await be.read(t);
  for (const t of Object.values(named)) t.dispose();
  return out;
}

function normal(be: Backend, rng: Random, shape: number[], std = 1): Tensor {
  return be.upload(
    rng.normals(
      shape.reduce((a, b) => a * b, 1),
      std,
    ),
    shape,
  );
}

export function matmulCase(name: string, aShape: number[], bShape: number[], opts: { transA?: boolean; transB?: boolean; bias?: boolean }): ParityCase {
  return {
    name,
    async run(be, rng) {
      const a = normal(be, rng, aShape);
      const b = normal(be, rng, bShape);
      const options: MatmulOptions = { transA: opts.transA, transB: opts.transB };
      const nOut = opts.transB ? bShape[bShape.length - 2] : bShape[bShape.length - 1];
      if (opts.bias) options.bias = normal(be, rng, [nOut]);
      const out = be.matmul(a, b, options);
      const dOut = normal(be, rng, [...out.shape]);
      const g = be.matmulBackward(dOut, a, b, options);
      const named: Record<string, Tensor> = { out, dA: g.dA, dB: g.dB };
      if (g.dBias) named.dBias = g.dBias;
      const result = await readAll(be, named);
      for (const t of [a, b, dOut, options.bias]) t?.dispose();
      return result;
    },
  };
}

export const parityCases: ParityCase[] = [
  matmulCase('matmul 1×1×1', [1, 1], [1, 1], {}),
  matmulCase('matmul 3×5·5×7 +bias', [3, 5], [5, 7], { bias: true }),
  matmulCase('matmul 65×130·130×17 +bias (crosses tiles)', [65, 130], [130, 17], { bias: true }),
  matmulCase('matmul aᵀ 33×20ᵀ·33×9', [33, 20], [33, 9], { transA: true }),
  matmulCase('matmul bᵀ 19×70·23×70ᵀ', [19, 70], [23, 70], { transB: true }),
  matmulCase('matmul aᵀbᵀ', [31, 66], [67, 31], { transA: true, transB: true }),
  matmulCase('matmul batched 3×33×20·3×20×9', [3, 33, 20], [3, 20, 9], {}),
  matmulCase('matmul batched aᵀbᵀ', [2, 12, 70], [2, 5, 12], { transA: true, transB: true }),
  matmulCase('matmul shared weight 2×13×24·24×72 +bias', [2, 13, 24], [24, 72], { bias: true }),
  {
    name: 'embedding V=37 C=19 N=2×23 (repeated ids)',
    async run(be, rng) {
      const ids = be.upload(rng.ints(46, 0, 36), [2, 23]);
      const table = normal(be, rng, [37, 19]);
      const out = be.embedding(ids, table);
      const dOut = normal(be, rng, [2, 23, 19]);
      const dTable = be.embeddingBackward(ids, dOut, 37);
      const r = await readAll(be, { out, dTable });
      [ids, table, dOut].forEach((t) => t.dispose());
      return r;
    },
  },
  {
    name: 'embedding N=600 > 256 ids, C=300 > 256',
    async run(be, rng) {
      const ids = be.upload(rng.ints(600, 0, 9), [600]);
      const table = normal(be, rng, [10, 300]);
      const out = be.embedding(ids, table);
      const dOut = normal(be, rng, [600, 300]);
      const dTable = be.embeddingBackward(ids, dOut, 10);
      const r = await readAll(be, { out, dTable });
      [ids, table, dOut].forEach((t) => t.dispose());
      return r;
    },
  },
  ...[
    [7, 5],
    [3, 4, 300],
    [2, 129],
  ].map(
    (shape): ParityCase => ({
      name: `layernorm ${shape.join('×')}`,
      async run(be, rng) {
        const C = shape[shape.length - 1];
        const x = normal(be, rng, shape, 2);
        const w = normal(be, rng, [C]);
        const b = normal(be, rng, [C]);
        const { out, mean, rstd } = be.layernorm(x, w, b, 1e-5);
        const dOut = normal(be, rng, shape);
        const g = be.layernormBackward(dOut, x, w, mean, rstd);
        const r = await readAll(be, { out, mean, rstd, dx: g.dx, dWeight: g.dWeight, dBias: g.dBias });
        [x, w, b, dOut].forEach((t) => t.dispose());
        return r;
      },
    }),
  ),
  {
    name: 'gelu 1001 (incl. |x| up to 40)',
    async run(be, rng) {
      const data = rng.normals(1001, 3);
      data[0] = 40;
      data[1] = -40;
      const x = be.upload(data, [1001]);
      const out = be.gelu(x);
      const dOut = normal(be, rng, [1001]);
      const dx = be.geluBackward(x, dOut);
      const r = await readAll(be, { out, dx });
      [x, dOut].forEach((t) => t.dispose());
      return r;
    },
  },
  ...[
    [1, 1, 4, 1],
    [2, 5, 12, 3],
    [1, 37, 16, 2],
    [2, 300, 8, 2],
  ].map(
    ([B, T, C, H]): ParityCase => ({
      name: `attention B=${B} T=${T} C=${C} H=${H}`,
      async run(be, rng) {
        const qkv = normal(be, rng, [B, T, 3 * C]);
        const { out, att } = be.attention(qkv, H);
        const dOut = normal(be, rng, [B, T, C]);
        const dqkv = be.attentionBackward(dOut, qkv, att, H);
        const r = await readAll(be, { out, att, dqkv });
        [qkv, dOut].forEach((t) => t.dispose());
        return r;
      },
    }),
  ),
  {
    name: 'add + accumulate 3×1001',
    async run(be, rng) {
      const a = normal(be, rng, [3, 1001]);
      const b = normal(be, rng, [3, 1001]);
      const out = be.add(a, b);
      const dAcc = normal(be, rng, [3, 1001]);
      be.accumulate(dAcc, a);
      const dSum = be.columnSum(b);
      const r = await readAll(be, { out, dAcc, dSum });
      [a, b].forEach((t) => t.dispose());
      return r;
    },
  },
  ...[
    [5, 7],
    [9, 256],
    [3, 1000],
  ].map(
    ([N, V]): ParityCase => ({
      name: `crossEntropy N=${N} V=${V}`,
      async run(be, rng) {
        const logits = normal(be, rng, [N, V], 3);
        const targets = be.upload(rng.ints(N, 0, V - 1), [N]);
        const { losses, probs } = be.crossEntropy(logits, targets);
        const dLogits = be.crossEntropyBackward(probs, targets, 1 / N);
        const r = await readAll(be, { losses, probs, dLogits });
        [logits, targets].forEach((t) => t.dispose());
        return r;
      },
    }),
  ),
  {
    name: 'adamw 1237 params, 3 steps',
    async run(be, rng) {
      const param = normal(be, rng, [1237]);
      const m = be.zeros([1237]);
      const v = be.zeros([1237]);
      for (let step = 1; step <= 3; step++) {
        const grad = normal(be, rng, [1237]);
        be.adamw(param, grad, m, v, { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step });
        grad.dispose();
      }
      return readAll(be, { param, m, v });
    },
  },
];

export interface Comparison {
  case: string;
  output: string;
  maxAbsError: number;
  worstExcess: number;
  ok: boolean;
}

/** allclose with the tolerance for the output's kind; NaN anywhere fails. */
export function compare(caseName: string, output: string, got: TensorData, want: TensorData): Comparison {
  const tol = output.startsWith('d') ? GRADIENT_TOLERANCE : FORWARD_TOLERANCE;
  let maxAbsError = 0;
  let worstExcess = 0;
  let ok = got.length === want.length;
  for (let i = 0; i < want.length && ok; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!Number.isFinite(got[i]) || !Number.isFinite(err)) ok = false;
    maxAbsError = Math.max(maxAbsError, err);
    worstExcess = Math.max(worstExcess, err / (tol.atol + tol.rtol * Math.abs(want[i])));
  }
  return { case: caseName, output, maxAbsError, worstExcess, ok: ok && worstExcess <= 1 };
}

export const PARITY_SEED = 20261128;

/** Runs every case on both backends; one row per output. */
export async function runParity(reference: Backend, candidate: Backend, cases = parityCases): Promise<Comparison[]> {
  const rows: Comparison[] = [];
  for (const c of cases) {
    const want = await c.run(reference, new Random(PARITY_SEED));
    const got = await c.run(candidate, new Random(PARITY_SEED));
    for (const [k, v] of Object.entries(want)) rows.push(compare(c.name, k, got[k], v));
  }
  return rows;
}
