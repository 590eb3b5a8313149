import { Q8_LEVELS, roundTrip, type WireTensor } from '@openshard/protocol';
import { describe, expect, test } from 'vitest';
import type { TaskResult } from '../src/training/training-run.ts';
import { compareResults, LEVEL_FLIPS_ALLOWED, quantizedError, relativeError } from '../src/trust/compare.ts';
import { DEFAULT_TRUST } from '../src/trust/trust-book.ts';

/** The audit tolerance the coordinator runs with (relative error). */
const TOLERANCE = DEFAULT_TRUST.tolerance;
/** Elements per test tensor: large enough that a single perturbed value is diluted as in a real gradient. */
const N = 4096;

/** A deterministic source of uniform values in [0, 1) (mulberry32), so every run compares the same numbers. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function tensor(name: string, values: ArrayLike<number>, shape: number[] = [values.length]): WireTensor {
  return { name, dtype: 'f32', shape, data: Float32Array.from(values) };
}

/** Values like a gradient: roughly N(0, 0.01), never all zero. */
function gradient(n: number, seed: number): Float32Array {
  const random = seeded(seed);
  return Float32Array.from({ length: n }, () => (random() + random() + random() - 1.5) * 0.02);
}

/** Every value times (1 + u·relative), u uniform in [−1, 1): what another GPU or summation order does to a result. */
function perturbed(values: Float32Array, relative: number, seed: number): Float32Array {
  const random = seeded(seed);
  return values.map((v) => v * (1 + (2 * random() - 1) * relative));
}

/** A backward result of a shard: its input gradient, two parameter gradients (one a bias that is exactly zero). */
function reference(): TaskResult {
  return {
    tensors: [tensor('dx', gradient(N, 1), [2, 32, 64]), tensor('w', gradient(N, 2), [64, 64]), tensor('b', new Float32Array(64))],
  };
}

/** The reference with tensor `name`'s values replaced. */
function withTensor(r: TaskResult, name: string, data: Float32Array): TaskResult {
  return { ...r, tensors: r.tensors.map((t) => (t.name === name ? { ...t, data } : t)) };
}

/** Within 0.1% of `expected`: at these norms the floor (1e-6·√n) lowers an error by about 1e-4 of itself. */
function expectNear(actual: number, expected: number): void {
  expect(Math.abs(actual / expected - 1)).toBeLessThan(1e-3);
}

function dataOf(r: TaskResult, name: string): Float32Array {
  return r.tensors.find((t) => t.name === name)!.data as Float32Array;
}

describe('compareResults: honest results agree', () => {
  test('behavior: identical results agree with error 0', () => {
    const ref = reference();
    const copy: TaskResult = { tensors: ref.tensors.map((t) => tensor(t.name, t.data, t.shape)) };
    expect(compareResults(copy, ref, TOLERANCE)).toMatchObject({ agree: true, error: 0 });
    expect(compareResults(ref, ref, TOLERANCE)).toMatchObject({ agree: true, error: 0 });
    const withLoss: TaskResult = { tensors: ref.tensors, loss: 3.25 };
    expect(compareResults(withLoss, { ...withLoss }, TOLERANCE)).toMatchObject({ agree: true, error: 0 });
  });

  test('behavior: rounding noise of relative 1e-6 and 1e-5 (another GPU, another summation order) agrees, far inside the tolerance', () => {
    const ref = { ...reference(), loss: 4.1 };
    for (const relative of [1e-6, 1e-5]) {
      const honest: TaskResult = {
        tensors: ref.tensors.map((t, i) => tensor(t.name, perturbed(t.data as Float32Array, relative, 100 + i), t.shape)),
        loss: ref.loss * (1 + relative / 2),
      };
      const agreement = compareResults(honest, ref, TOLERANCE);
      expect(agreement.agree).toBe(true);
      expect(agreement.error).toBeGreaterThan(0);
      expect(agreement.error).toBeLessThanOrEqual(relative);
      expect(agreement.error * 10).toBeLessThan(TOLERANCE);
    }
  });

  test('behavior: the order of the tensors does not matter, only their names', () => {
    const ref = reference();
    const shuffled: TaskResult = { tensors: [...ref.tensors].reverse() };
    expect(compareResults(shuffled, ref, TOLERANCE)).toMatchObject({ agree: true, error: 0 });
  });

  test('behavior: an all-zero reference tensor (a bias gradient) agrees with rounding noise of 1e-9 thanks to the floor', () => {
    const ref = reference();
    const random = seeded(7);
    const noise = Float32Array.from({ length: 64 }, () => (2 * random() - 1) * 1e-9);
    const agreement = compareResults(withTensor(ref, 'b', noise), ref, TOLERANCE);
    expect(agreement.agree).toBe(true);
    expect(agreement.error).toBeGreaterThan(0);
    expect(agreement.error).toBeLessThan(TOLERANCE);
    expect(agreement.worst).toBe('b');
  });

  test('behavior: the floor is no free pass: values of 1e-4 where the reference has exact zeros disagree', () => {
    const ref = reference();
    const agreement = compareResults(withTensor(ref, 'b', new Float32Array(64).fill(1e-4)), ref, TOLERANCE);
    expect(agreement).toMatchObject({ agree: false, worst: 'b' });
    expect(agreement.error).toBeCloseTo(100, 3);
  });

  test('behavior: a loss off by relative 1e-6 agrees; a loss near zero is compared absolutely', () => {
    const ref = reference();
    expect(compareResults({ ...ref, loss: 5 * (1 + 1e-6) }, { ...ref, loss: 5 }, TOLERANCE).agree).toBe(true);
    // |0.0005 − 0| / max(1, 0): an absolute error of 5e-4, inside the tolerance, not an infinite relative one
    const nearZero = compareResults({ ...ref, loss: 0.0005 }, { ...ref, loss: 0 }, TOLERANCE);
    expect(nearZero.agree).toBe(true);
    expect(nearZero.error).toBeCloseTo(0.0005, 9);
  });
});

describe('compareResults: cheats and broken results disagree, naming the worst tensor', () => {
  test('behavior: a gradient scaled by 1.01 disagrees with an error of 1%', () => {
    const ref = reference();
    const agreement = compareResults(
      withTensor(
        ref,
        'w',
        dataOf(ref, 'w').map((v) => v * 1.01),
      ),
      ref,
      TOLERANCE,
    );
    expect(agreement).toMatchObject({ agree: false, worst: 'w' });
    expectNear(agreement.error, 0.01);
  });

  test('behavior: a gradient scaled by 100 disagrees with an error of 99', () => {
    const ref = reference();
    const agreement = compareResults(
      withTensor(
        ref,
        'dx',
        dataOf(ref, 'dx').map((v) => v * 100),
      ),
      ref,
      TOLERANCE,
    );
    expect(agreement).toMatchObject({ agree: false, worst: 'dx' });
    expectNear(agreement.error, 99);
  });

  test('behavior: a gradient of zeros (work skipped) disagrees with an error of 1', () => {
    const ref = reference();
    const agreement = compareResults(withTensor(ref, 'w', new Float32Array(N)), ref, TOLERANCE);
    expect(agreement).toMatchObject({ agree: false, worst: 'w' });
    expectNear(agreement.error, 1);
  });

  test('behavior: random values of the right scale disagree', () => {
    const ref = reference();
    const agreement = compareResults(withTensor(ref, 'w', gradient(N, 99)), ref, TOLERANCE);
    expect(agreement).toMatchObject({ agree: false, worst: 'w' });
    expect(agreement.error).toBeGreaterThan(1);
  });

  test('behavior: one value nudged among thousands still disagrees when the nudge matters', () => {
    const ref = reference();
    const w = dataOf(ref, 'w').slice();
    w[123] += 1; // the norm of w is about 0.65
    expect(compareResults(withTensor(ref, 'w', w), ref, TOLERANCE)).toMatchObject({ agree: false, worst: 'w' });
  });

  test('behavior: a NaN anywhere, in the result or in the reference, disagrees with an infinite error', () => {
    const ref = reference();
    for (const name of ['dx', 'w', 'b']) {
      for (const at of [0, 63]) {
        const data = dataOf(ref, name).slice();
        data[at] = Number.NaN;
        expect(compareResults(withTensor(ref, name, data), ref, TOLERANCE)).toEqual({ agree: false, worst: name, error: Infinity });
        expect(compareResults(ref, withTensor(ref, name, data), TOLERANCE)).toEqual({ agree: false, worst: name, error: Infinity });
      }
    }
  });

  test('behavior: an infinite value disagrees, also where the reference is infinite too', () => {
    const ref = reference();
    const data = dataOf(ref, 'w').slice();
    data[5] = Infinity;
    expect(compareResults(withTensor(ref, 'w', data), ref, TOLERANCE)).toMatchObject({ agree: false, worst: 'w', error: Infinity });
    const both = withTensor(ref, 'w', data);
    expect(compareResults(both, both, TOLERANCE)).toMatchObject({ agree: false, worst: 'w', error: Infinity });
  });

  test('behavior: a missing tensor disagrees outright; worst says the set of tensors differs', () => {
    const ref = reference();
    const missing: TaskResult = { tensors: ref.tensors.filter((t) => t.name !== 'b') };
    expect(compareResults(missing, ref, TOLERANCE)).toEqual({ agree: false, worst: 'tensors', error: Infinity });
    expect(compareResults({ tensors: [] }, ref, TOLERANCE)).toEqual({ agree: false, worst: 'tensors', error: Infinity });
  });

  test('behavior: an extra tensor disagrees outright and worst names it', () => {
    const ref = reference();
    const extra: TaskResult = { tensors: [...ref.tensors, tensor('smuggled', gradient(16, 5))] };
    expect(compareResults(extra, ref, TOLERANCE)).toEqual({ agree: false, worst: 'smuggled', error: Infinity });
  });

  test('behavior: a tensor renamed (as many tensors, one of another name) disagrees and worst names it', () => {
    const ref = reference();
    const renamed: TaskResult = { tensors: ref.tensors.map((t) => (t.name === 'w' ? { ...t, name: 'v' } : t)) };
    expect(compareResults(renamed, ref, TOLERANCE)).toEqual({ agree: false, worst: 'v', error: Infinity });
  });

  test('behavior: a tensor of another length disagrees outright and worst names it', () => {
    const ref = reference();
    const shorter = dataOf(ref, 'w').subarray(0, N - 1);
    expect(compareResults(withTensor(ref, 'w', shorter), ref, TOLERANCE)).toEqual({ agree: false, worst: 'w', error: Infinity });
    const longer = Float32Array.from([...dataOf(ref, 'b'), 0]);
    expect(compareResults(withTensor(ref, 'b', longer), ref, TOLERANCE)).toEqual({ agree: false, worst: 'b', error: Infinity });
  });

  test('behavior: a result that repeats one tensor in place of another disagrees: the replaced tensor is missing', () => {
    const ref = reference();
    const w = ref.tensors.find((t) => t.name === 'w')!;
    // as many tensors as the reference, but 'b' is missing and 'w' comes twice
    const repeated: TaskResult = { tensors: ref.tensors.map((t) => (t.name === 'b' ? w : t)) };
    expect(compareResults(repeated, ref, TOLERANCE).agree).toBe(false);
  });

  test('behavior: a loss differing by 0.5 disagrees with worst "loss"', () => {
    const ref = reference();
    const agreement = compareResults({ ...ref, loss: 3 }, { ...ref, loss: 2.5 }, TOLERANCE);
    expect(agreement).toMatchObject({ agree: false, worst: 'loss' });
    expect(agreement.error).toBeCloseTo(0.5 / 2.5, 12);
  });

  test('behavior: a loss on one side only, or a NaN loss, disagrees with worst "loss"', () => {
    const ref = reference();
    expect(compareResults({ ...ref, loss: 2 }, ref, TOLERANCE)).toEqual({ agree: false, worst: 'loss', error: Infinity });
    expect(compareResults(ref, { ...ref, loss: 2 }, TOLERANCE)).toEqual({ agree: false, worst: 'loss', error: Infinity });
    expect(compareResults({ ...ref, loss: Number.NaN }, { ...ref, loss: 2 }, TOLERANCE)).toEqual({ agree: false, worst: 'loss', error: Infinity });
  });

  test('behavior: worst is the tensor that differs most when several do', () => {
    const ref = reference();
    let cheat = withTensor(
      ref,
      'dx',
      dataOf(ref, 'dx').map((v) => v * 1.01),
    );
    cheat = withTensor(
      cheat,
      'w',
      dataOf(ref, 'w').map((v) => v * 1.5),
    );
    const agreement = compareResults({ ...cheat, loss: 2.2 }, { ...ref, loss: 2 }, TOLERANCE);
    expect(agreement).toMatchObject({ agree: false, worst: 'w' });
    expectNear(agreement.error, 0.5);
  });

  test('behavior: an error exactly at the tolerance still agrees; just above it does not', () => {
    const ref = { tensors: [], loss: 1 };
    expect(compareResults({ tensors: [], loss: 1.5 }, ref, 0.5)).toMatchObject({ agree: true, worst: 'loss', error: 0.5 });
    expect(compareResults({ tensors: [], loss: 1.5 }, ref, 0.4999)).toMatchObject({ agree: false, worst: 'loss' });
  });
});

describe('relativeError', () => {
  test('behavior: the norm of the difference over the norm of the reference', () => {
    expect(relativeError([3, 4], [3, 4])).toBe(0);
    expect(relativeError([6, 8], [3, 4])).toBeCloseTo(1, 5);
    expect(relativeError([3, 4], [6, 8])).toBeCloseTo(0.5, 5);
    expect(relativeError([3, 0], [0, 4])).toBeCloseTo(5 / 4, 5);
  });

  test('behavior: the floor is 1e-6 per √n: a difference of 1e-9 everywhere from zeros is an error of 1e-3', () => {
    for (const n of [1, 64, 4096]) {
      expect(relativeError(new Array(n).fill(1e-9), new Array(n).fill(0))).toBeCloseTo(1e-3, 12);
    }
    expect(relativeError(new Array(64).fill(0), new Array(64).fill(0))).toBe(0);
  });

  test('behavior: NaN anywhere makes it NaN', () => {
    expect(relativeError([1, Number.NaN], [1, 2])).toBeNaN();
    expect(relativeError([1, 2], [Number.NaN, 2])).toBeNaN();
  });
});

describe('q8 tensors, compared level by level (compact traffic)', () => {
  const shape = [32, 128];
  const q8 = (x: Float32Array) => roundTrip(x, shape, 'q8');
  const rows = gradient(32 * 128, 11);
  /** Float noise of another device: every value off by up to 1e-5 of itself. */
  const noisy = (x: Float32Array, seed: number) => {
    const r = seeded(seed);
    return x.map((v) => v * (1 + (r() - 0.5) * 2e-5));
  };
  const worst = (a: Float32Array, b: Float32Array) => compareResults({ tensors: [tensor('dx', a, shape)] }, { tensors: [tensor('dx', b, shape)] }, TOLERANCE, () => true);

  test('behavior: two honest roundings of the same result agree, and so does a rounding with the exact result', () => {
    expect(worst(q8(noisy(rows, 1)), q8(noisy(rows, 2))).agree).toBe(true);
    expect(worst(q8(noisy(rows, 3)), rows).agree).toBe(true);
    expect(quantizedError(q8(rows), rows, shape)).toBeLessThan(1e-6);
  });

  test('error: a nudge hiding inside the rounding (0.5% of every value) is caught by how many values it moves', () => {
    const nudged = q8(rows.map((v) => v * 1.005));
    const e = quantizedError(nudged, q8(rows), shape);
    expect(e).toBeGreaterThan(LEVEL_FLIPS_ALLOWED);
    expect(worst(nudged, rows).agree).toBe(false);
  });

  test('error: one value moved by two levels is caught, though the rest are exact', () => {
    const moved = q8(rows);
    const top = Math.max(...Array.from(rows.subarray(0, 128), Math.abs));
    moved[5] += (2 * top) / Q8_LEVELS;
    const a = worst(moved, q8(rows));
    expect(a.agree).toBe(false);
    expect(a.error).toBeGreaterThan(0.5 / Q8_LEVELS);
    // the same tensor compared as plain fp32 would pass: the shift is tiny against the whole tensor's norm
    expect(relativeError(moved, q8(rows))).toBeLessThan(TOLERANCE);
  });
});
