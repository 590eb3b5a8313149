import { describe, expect, test } from 'vitest';
import type { MatmulOptions } from '../src/backend.ts';
import { CpuBackend } from '../src/cpu/backend.ts';
import { Random } from '../src/random.ts';
import type { Tensor } from '../src/tensor.ts';

/** Central differences in float64: error O(h²) ≈ 1e-12, rounding ≈ 1e-16/h ≈ 1e-10. */
const STEP = 1e-6;
const FD_TOLERANCE = { atol: 1e-7, rtol: 1e-6 };

const be = new CpuBackend({ precision: 'f64' });

interface Input {
  shape: number[];
  data: Float64Array;
}

interface FdCase {
  inputs: Record<string, Input>;
  /** The output whose weighted sum Σ out·R is the scalar loss. */
  forward(t: Record<string, Tensor>): Tensor;
  /** Gradients of Σ out·R for each input, given dOut = R. */
  backward(t: Record<string, Tensor>, dOut: Tensor): Record<string, Tensor>;
  /** Upstream weights; random normal unless given. */
  upstream?: (n: number) => Float64Array;
}

function normalInput(rng: Random, shape: number[], std = 1): Input {
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, data: Float64Array.from({ length: n }, () => rng.normal() * std) };
}

function loss(c: FdCase, r: Float64Array, override?: [string, Float64Array]): number {
  const t: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(c.inputs)) t[k] = be.upload(override?.[0] === k ? override[1] : v.data, v.shape);
  const out = be.readFloat64(c.forward(t));
  let l = 0;
  for (let i = 0; i < out.length; i++) l += out[i] * r[i];
  return l;
}

/** Largest |analytic − numeric| / (atol + rtol·|numeric|) over every element of every input. */
function check(c: FdCase, rng: Random): Record<string, number> {
  const t: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(c.inputs)) t[k] = be.upload(v.data, v.shape);
  const out = c.forward(t);
  const r = c.upstream?.(out.size) ?? Float64Array.from({ length: out.size }, () => rng.normal());
  const grads = c.backward(t, be.upload(r, out.shape));
  const worst: Record<string, number> = {};
  for (const [name, input] of Object.entries(c.inputs)) {
    const analytic = be.readFloat64(grads[name]);
    let w = 0;
    for (let i = 0; i < input.data.length; i++) {
      const x = input.data.slice();
      x[i] = input.data[i] + STEP;
      const up = loss(c, r, [name, x]);
      x[i] = input.data[i] - STEP;
      const down = loss(c, r, [name, x]);
      const numeric = (up - down) / (2 * STEP);
      w = Math.max(w, Math.abs(analytic[i] - numeric) / (FD_TOLERANCE.atol + FD_TOLERANCE.rtol * Math.abs(numeric)));
    }
    worst[name] = w;
  }
  return worst;
}

function expectGradientsMatch(c: FdCase, seed = 7): void {
  const worst = check(c, new Random(seed));
  for (const [name, w] of Object.entries(worst)) expect(w, `gradient of '${name}'`).toBeLessThanOrEqual(1);
}

function matmulCase(rng: Random, aShape: number[], bShape: number[], options: { transA?: boolean; transB?: boolean; bias?: boolean }): FdCase {
  const nOut = options.transB ? bShape[bShape.length - 2] : bShape[bShape.length - 1];
  const inputs: Record<string, Input> = { a: normalInput(rng, aShape), b: normalInput(rng, bShape) };
  if (options.bias) inputs.bias = normalInput(rng, [nOut]);
  const opts = (t: Record<string, Tensor>): MatmulOptions => ({ transA: options.transA, transB: options.transB, bias: t.bias });
  return {
    inputs,
    forward: (t) => be.matmul(t.a, t.b, opts(t)),
    backward: (t, d) => {
      const g = be.matmulBackward(d, t.a, t.b, opts(t));
      return { a: g.dA, b: g.dB, ...(g.dBias ? { bias: g.dBias } : {}) };
    },
  };
}

describe('CPU ops against central finite differences (float64)', () => {
  const rng = new Random(11);

  test.each([
    ['plain + bias', [3, 4], [4, 5], { bias: true }],
    ['aᵀ', [4, 3], [4, 5], { transA: true }],
    ['bᵀ', [3, 4], [5, 4], { transB: true }],
    ['aᵀ bᵀ', [4, 3], [5, 4], { transA: true, transB: true }],
    ['batched', [2, 3, 4], [2, 4, 2], {}],
    ['batched aᵀ bᵀ', [2, 4, 3], [2, 2, 4], { transA: true, transB: true }],
    ['batched a, shared b + bias', [2, 3, 4], [4, 5], { bias: true }],
  ] as const)('behavior: matmul %s', (_name, aShape, bShape, options) => {
    expectGradientsMatch(matmulCase(rng, [...aShape], [...bShape], options));
  });

  test('behavior: columnSum', () => {
    expectGradientsMatch({
      inputs: { x: normalInput(rng, [4, 3]) },
      forward: (t) => be.columnSum(t.x),
      // ∂/∂x[r,c] of Σ_c R[c]·Σ_r x[r,c] is R[c] for every row: a matmul of ones by R.
      backward: (_t, d) => ({ x: be.matmul(be.upload(new Float64Array(4).fill(1), [4, 1]), be.reshape(d, [1, 3])) }),
    });
  });

  test('behavior: embedding scatter-adds repeated ids', () => {
    const ids = be.upload(Int32Array.from([2, 0, 2, 3, 2]), [5]);
    expectGradientsMatch({
      inputs: { table: normalInput(rng, [4, 3]) },
      forward: (t) => be.embedding(ids, t.table),
      backward: (_t, d) => ({ table: be.embeddingBackward(ids, d, 4) }),
    });
  });

  test('behavior: layernorm', () => {
    expectGradientsMatch({
      inputs: { x: normalInput(rng, [3, 6], 2), weight: normalInput(rng, [6]), bias: normalInput(rng, [6]) },
      forward: (t) => be.layernorm(t.x, t.weight, t.bias, 1e-5).out,
      backward: (t, d) => {
        const f = be.layernorm(t.x, t.weight, t.bias, 1e-5);
        const g = be.layernormBackward(d, t.x, t.weight, f.mean, f.rstd);
        return { x: g.dx, weight: g.dWeight, bias: g.dBias };
      },
    });
  });

  test('behavior: gelu', () => {
    expectGradientsMatch({
      inputs: { x: normalInput(rng, [23], 3) },
      forward: (t) => be.gelu(t.x),
      backward: (t, d) => ({ x: be.geluBackward(t.x, d) }),
    });
  });

  test.each([
    [1, 3, 4, 1],
    [2, 4, 6, 2],
    [1, 5, 8, 4],
  ])('behavior: causal attention B=%i T=%i C=%i H=%i', (B, T, C, H) => {
    expectGradientsMatch({
      inputs: { qkv: normalInput(rng, [B, T, 3 * C]) },
      forward: (t) => be.attention(t.qkv, H).out,
      backward: (t, d) => ({ qkv: be.attentionBackward(d, t.qkv, be.attention(t.qkv, H).att, H) }),
    });
  });

  test('behavior: residual add passes the gradient to both inputs', () => {
    expectGradientsMatch({
      inputs: { a: normalInput(rng, [2, 5]), b: normalInput(rng, [2, 5]) },
      forward: (t) => be.add(t.a, t.b),
      backward: (_t, d) => ({ a: d, b: d }),
    });
  });

  test('behavior: softmax cross-entropy (mean over rows)', () => {
    const N = 4;
    const targets = be.upload(Int32Array.from([0, 6, 3, 3]), [N]);
    expectGradientsMatch({
      inputs: { logits: normalInput(rng, [N, 7], 3) },
      forward: (t) => be.crossEntropy(t.logits, targets).losses,
      upstream: (n) => new Float64Array(n).fill(1 / N),
      backward: (t, _d) => ({ logits: be.crossEntropyBackward(be.crossEntropy(t.logits, targets).probs, targets, 1 / N) }),
    });
  });

  test('behavior: a wrong gradient is caught (the check can fail)', () => {
    const worst = check(
      {
        inputs: { x: normalInput(rng, [5], 3) },
        forward: (t) => be.gelu(t.x),
        // Deliberately wrong: the identity instead of GELU's derivative.
        backward: (_t, d) => ({ x: d }),
      },
      new Random(3),
    );
    expect(worst.x).toBeGreaterThan(1);
  });
});
