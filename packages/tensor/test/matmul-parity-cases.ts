import type { Backend, MatmulOptions } from '../src/backend.ts';
import { matmulCase, type Outputs, type ParityCase } from '../src/parity.ts';
import type { Random } from '../src/random.ts';
import type { Tensor } from '../src/tensor.ts';

/**
 * Matmul shapes that take each path of the WebGPU kernel (src/ops/matmul.wgsl.ts): split-K,
 * with and without a bias, batched; vec4 loads of both operands, of one, of neither; and the
 * transposed calls matmulBackward makes. Which path each shape takes on which adapter is
 * checked in matmul-plan.test.ts, so a change of policy that left a path untested fails there.
 * Run beside parityCases by the Node and Chromium parity suites.
 */

function normal(be: Backend, rng: Random, shape: number[]): Tensor {
  return be.upload(rng.normals(shape.reduce((x, y) => x * y, 1)), shape);
}

async function readAll(be: Backend, named: Record<string, Tensor>): Promise<Outputs> {
  const out: Outputs = {};
  for (const [k, t] of Object.entries(named)) out[k] = await be.read(t);
  for (const t of Object.values(named)) t.dispose();
  return out;
}

/**
 * dW = xᵀ·dY (+ bias) as one matmul with a long K: a gradient, compared with the gradient
 * tolerance (its K of several hundred rows is where f32 and the f64 reference part most).
 */
function weightGradientCase(name: string, xShape: number[], dyShape: number[], bias = false): ParityCase {
  return {
    name,
    async run(be, rng) {
      const x = normal(be, rng, xShape);
      const dY = normal(be, rng, dyShape);
      const b = bias ? normal(be, rng, [dyShape[dyShape.length - 1]]) : undefined;
      const dW = be.matmul(x, dY, { transA: true, bias: b });
      const result = await readAll(be, { dW });
      for (const t of [x, dY, b]) t?.dispose();
      return result;
    },
  };
}

/** Shapes of the cases below, for matmul-plan.test.ts: [M, K, N, batch] of the matmul named. */
export const MATMUL_PATH_SHAPES = {
  splitVec4: { M: 20, K: 1024, N: 24, batch: 1, transA: true },
  splitScalarBias: { M: 19, K: 301, N: 23, batch: 1, transA: true },
  splitBatched: { M: 12, K: 512, N: 16, batch: 2, transA: true },
  backwardSplitScalar: { M: 13, K: 515, N: 7, batch: 1, transA: true },
  lmHeadBackward: { M: 44, K: 256, N: 36, batch: 1, transA: true },
  foldedSharedBackward: { M: 12, K: 512, N: 20, batch: 1, transA: true },
  vecAOnly: { M: 64, K: 36, N: 10, batch: 1, transA: false },
  manyTilesNoSplit: { M: 130, K: 260, N: 260, batch: 1, transA: true },
} as const;

const s = MATMUL_PATH_SHAPES;
export const matmulPathCases: ParityCase[] = [
  weightGradientCase('matmul split-K, vec4: dW = x 1024×20ᵀ · dY 1024×24', [s.splitVec4.K, s.splitVec4.M], [s.splitVec4.K, s.splitVec4.N]),
  weightGradientCase('matmul split-K, scalar loads, +bias: 301×19ᵀ · 301×23', [s.splitScalarBias.K, s.splitScalarBias.M], [s.splitScalarBias.K, s.splitScalarBias.N], true),
  weightGradientCase('matmul split-K, batched: 2×512×12ᵀ · 2×512×16', [2, s.splitBatched.K, s.splitBatched.M], [2, s.splitBatched.K, s.splitBatched.N]),
  weightGradientCase('matmul 3×5 tiles, ragged edges (split-K on a GPU only): 260×130ᵀ · 260×260', [s.manyTilesNoSplit.K, s.manyTilesNoSplit.M], [s.manyTilesNoSplit.K, s.manyTilesNoSplit.N]),
  matmulCase('matmul backward split-K, odd dims: 515×13·13×7 +bias', [s.backwardSplitScalar.K, s.backwardSplitScalar.M], [s.backwardSplitScalar.M, s.backwardSplitScalar.N], { bias: true }),
  matmulCase('matmul lm-head layout: 256×36 · 44×36ᵀ (backward splits K)', [s.lmHeadBackward.K, s.lmHeadBackward.N], [s.lmHeadBackward.M, s.lmHeadBackward.N], { transB: true }),
  matmulCase('matmul shared weight folded: 4×128×12 · 12×20 (backward splits K)', [4, 128, s.foldedSharedBackward.M], [s.foldedSharedBackward.M, s.foldedSharedBackward.N], {}),
  matmulCase('matmul vec4 a only: 64×36 · 36×10', [s.vecAOnly.M, s.vecAOnly.K], [s.vecAOnly.K, s.vecAOnly.N], {}),
];
