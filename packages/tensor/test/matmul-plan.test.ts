import { describe, expect, test } from 'vitest';
import type { MatmulDims } from '../src/check.ts';
import { MATMUL_TILE_K, SPLIT_K_FALLBACK_WORKGROUPS, SPLIT_K_GPU_WORKGROUPS, SPLIT_K_MIN_SLICE, planMatmul, splitK, type MatmulPlanOptions } from '../src/ops/matmul.wgsl.ts';
import { MATMUL_PATH_SHAPES } from './matmul-parity-cases.ts';

const GPU: MatmulPlanOptions = { fallbackAdapter: false };
const FALLBACK: MatmulPlanOptions = { fallbackAdapter: true };

function dims(M: number, K: number, N: number, batch = 1): MatmulDims {
  return { batch, sharedB: false, M, K, N, outShape: batch > 1 ? [batch, M, N] : [M, N] };
}
const plain = { transA: false, transB: false, bias: false };
const weightGradient = { transA: true, transB: false, bias: false };

describe('planMatmul', () => {
  test('behavior: a 128×128 weight gradient (4 tiles) splits K into 4 slices on a GPU, 2 on a fallback adapter', () => {
    const d = dims(128, 512, 128);
    expect(planMatmul(d, weightGradient, GPU)).toMatchObject({ slices: 4, grid: [2, 2, 4], params: [128, 128, 512, 128 * 512, 512 * 128, 1, 128] });
    expect(planMatmul(d, weightGradient, FALLBACK)).toMatchObject({ slices: 2, grid: [2, 2, 2] });
  });

  test('behavior: an output of enough tiles, or a short K, is one pass that adds the bias itself', () => {
    for (const [d, o] of [
      [dims(512, 4096, 512), GPU],
      [dims(128, 512, 512), FALLBACK],
      [dims(20, 255, 24), GPU],
    ] as const) {
      const plan = planMatmul(d, { ...plain, bias: true }, o);
      expect(plan.slices).toBe(1);
      expect(plan.reduce).toBeNull();
      expect(plan.kernel.bindings.map((b) => b.name)).toEqual(['out', 'a', 'b', 'bias']);
    }
    expect(planMatmul(dims(512, 4096, 512), plain, GPU).grid).toEqual([8, 8, 1]);
  });

  test('behavior: a split matmul writes partial sums without the bias; the reduction adds it once', () => {
    const plan = planMatmul(dims(20, 1024, 24), { ...plain, bias: true }, GPU);
    expect(plan.kernel.bindings.map((b) => b.name)).toEqual(['out', 'a', 'b']);
    expect(plan.reduce?.kernel.bindings.map((b) => b.name)).toEqual(['out', 'partial', 'bias']);
    expect(plan.reduce?.params).toEqual([20 * 24, 24, plan.slices]);
  });

  test('behavior: K-slices are whole K-tiles, at least SPLIT_K_MIN_SLICE long, no more than the target needs, and cover K exactly once', () => {
    for (let K = 1; K <= 5000; K += 7) {
      for (const tiles of [1, 2, 3, 5, 16, 63]) {
        for (const o of [GPU, FALLBACK]) {
          const { slices, sliceLength } = splitK(tiles, K, o);
          if (slices === 1) {
            expect(sliceLength).toBe(K);
            continue;
          }
          expect(sliceLength % MATMUL_TILE_K).toBe(0);
          expect(sliceLength).toBeGreaterThanOrEqual(SPLIT_K_MIN_SLICE);
          expect((slices - 1) * sliceLength).toBeLessThan(K);
          expect(slices * sliceLength).toBeGreaterThanOrEqual(K);
          const target = o.fallbackAdapter ? SPLIT_K_FALLBACK_WORKGROUPS : SPLIT_K_GPU_WORKGROUPS;
          expect(slices).toBeLessThanOrEqual(Math.ceil(target / tiles));
        }
      }
    }
  });

  test('behavior: an operand is read as vec4 exactly when its contiguous dimension is a multiple of 4', () => {
    const loads = (M: number, K: number, N: number, transA: boolean, transB: boolean) => planMatmul(dims(M, K, N), { transA, transB, bias: false }, GPU).loads;
    expect(loads(8, 12, 16, false, false)).toEqual({ vecA: true, vecB: true });
    expect(loads(8, 13, 16, false, false)).toEqual({ vecA: false, vecB: true });
    expect(loads(8, 12, 17, false, false)).toEqual({ vecA: true, vecB: false });
    expect(loads(9, 12, 17, true, false)).toEqual({ vecA: false, vecB: false });
    expect(loads(8, 13, 17, true, true)).toEqual({ vecA: true, vecB: false });
    expect(loads(9, 12, 17, false, true)).toEqual({ vecA: true, vecB: true });
    const vec4 = planMatmul(dims(8, 12, 16), plain, GPU).kernel.source;
    expect(vec4).toContain('var<storage, read> a: array<vec4f>;');
    expect(vec4).toContain('var<storage, read> b: array<vec4f>;');
    expect(planMatmul(dims(8, 13, 17), plain, GPU).kernel.source).toContain('var<storage, read> b: array<f32>;');
  });
});

describe('the parity cases of matmul-parity-cases.ts take the paths they are named for', () => {
  const s = MATMUL_PATH_SHAPES;
  const plan = (x: (typeof s)[keyof typeof s], o: MatmulPlanOptions) => planMatmul(dims(x.M, x.K, x.N, x.batch), { transA: x.transA, transB: false, bias: false }, o);
  test.each([GPU, FALLBACK])('behavior: on %o', (o) => {
    expect(plan(s.splitVec4, o)).toMatchObject({ slices: 8, loads: { vecA: true, vecB: true } });
    expect(plan(s.splitScalarBias, o)).toMatchObject({ slices: 2, loads: { vecA: false, vecB: false } });
    expect(plan(s.splitBatched, o)).toMatchObject({ slices: 4, grid: [1, 1, 8], loads: { vecA: true, vecB: true } });
    expect(plan(s.backwardSplitScalar, o)).toMatchObject({ slices: 4, loads: { vecA: false, vecB: false } });
    expect(plan(s.lmHeadBackward, o).slices).toBe(2);
    expect(plan(s.foldedSharedBackward, o).slices).toBe(4);
    expect(plan(s.vecAOnly, o)).toMatchObject({ slices: 1, loads: { vecA: true, vecB: false } });
    expect(plan(s.manyTilesNoSplit, o).slices).toBe(o.fallbackAdapter ? 1 : 2);
  });
});
