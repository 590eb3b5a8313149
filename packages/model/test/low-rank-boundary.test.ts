import { CpuBackend, type Tensor } from '@openshard/tensor';
import { describe, expect, test } from 'vitest';
import {
  ConfigError,
  LowRankBoundary,
  orthonormalBasis,
  parameterSpecs,
  partition,
  POSITION_EMBEDDING,
  runMicroBatch,
  Shard,
  ShardInputError,
  TOKEN_EMBEDDING,
  type GptConfig,
  type ParameterValues,
} from '../src/index.ts';
import { batchOf, meanCrossEntropy, perturbedValues, shardsFrom, TOY } from './helpers.ts';

/** k for TOY (width 8): small enough that the constraint bites, so a dense model fails every check. */
const RANK = 3;
const BASIS_SEED = 7;
/** f64 throughout: what the boundary rebuilds must equal the original to rounding. */
const EXACT = 1e-10;
/** Central differences in f64, as gradients.test.ts. */
const STEP = 1e-5;
const ATOL = 1e-7;
const RTOL = 1e-5;
const INDICES_PER_PARAMETER = 3;

function lowRankShards(be: CpuBackend, c: GptConfig, S: number, values: ParameterValues, boundary: LowRankBoundary): Shard[] {
  return partition(c, S).map((spec) => Shard.fromValues(be, c, spec, (p) => values.get(p.name)!, { boundary }));
}

function relativeError(a: Float64Array, b: Float64Array): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    norm = Math.max(norm, Math.abs(b[i]));
  }
  return diff / Math.max(norm, 1e-30);
}

/** r [N, C] split into its part outside span(U) (U [C, k] row-major): returns ‖(I − U·Uᵀ)·r‖ / ‖r‖ and ‖r‖. */
function outsideSubspace(r: Float64Array, u: Float64Array, C: number, k: number): { ratio: number; norm: number } {
  let outside = 0;
  let total = 0;
  for (let n = 0; n < r.length / C; n++) {
    const row = r.subarray(n * C, (n + 1) * C);
    const z = new Float64Array(k);
    for (let c = 0; c < C; c++) for (let j = 0; j < k; j++) z[j] += u[c * k + j] * row[c];
    for (let c = 0; c < C; c++) {
      let inside = 0;
      for (let j = 0; j < k; j++) inside += u[c * k + j] * z[j];
      outside += (row[c] - inside) ** 2;
      total += row[c] ** 2;
    }
  }
  return { ratio: Math.sqrt(outside / total), norm: Math.sqrt(total) };
}

/** x − (E[tok] + P[pos]) for x [B, T, C] read in f64. */
function residual(x: Float64Array, values: ParameterValues, ids: Int32Array, T: number, C: number): Float64Array {
  const E = values.get(TOKEN_EMBEDDING)!;
  const P = values.get(POSITION_EMBEDDING)!;
  return x.map((v, i) => {
    const n = Math.floor(i / C);
    const c = i % C;
    return v - E[ids[n] * C + c] - P[(n % T) * C + c];
  });
}

describe('low-rank boundary: the basis', () => {
  test('behavior: the basis is orthonormal, and the same for the same seed (f64, 1e-12)', () => {
    const C = 128;
    const k = 32;
    const u = orthonormalBasis(C, k, BASIS_SEED);
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) {
        let dot = 0;
        for (let c = 0; c < C; c++) dot += u[c * k + i] * u[c * k + j];
        expect(Math.abs(dot - (i === j ? 1 : 0)), `column ${i} · column ${j}`).toBeLessThan(1e-12);
      }
    }
    expect(orthonormalBasis(C, k, BASIS_SEED)).toEqual(u);
    expect(orthonormalBasis(C, k, BASIS_SEED + 1)).not.toEqual(u);
  });

  test('error: a rank outside [1, width] is refused with the limit', () => {
    const be = new CpuBackend();
    expect(() => LowRankBoundary.create(be, TOY, 0, BASIS_SEED)).toThrow(ConfigError);
    expect(() => LowRankBoundary.create(be, TOY, 9, BASIS_SEED)).toThrow('boundary rank is 9; it must be an integer from 1 to the width 8');
    expect(() => LowRankBoundary.create(be, TOY, 2.5, BASIS_SEED)).toThrow('boundary rank is 2.5');
  });

  test('error: a shard refuses a boundary made for another model', () => {
    const be = new CpuBackend();
    const boundary = LowRankBoundary.create(be, { ...TOY, width: 16 }, RANK, BASIS_SEED);
    expect(() => lowRankShards(be, TOY, 1, perturbedValues(TOY, 3), boundary)).toThrow(ConfigError);
    expect(() => lowRankShards(be, TOY, 1, perturbedValues(TOY, 3), boundary)).toThrow('the low-rank boundary is for a model of 4 layers, 2 heads, width 16');
  });

  test('error: a pipeline whose shards do not share one boundary is refused', async () => {
    const be = new CpuBackend();
    const values = perturbedValues(TOY, 3);
    const boundary = LowRankBoundary.create(be, TOY, RANK, BASIS_SEED);
    const [first] = lowRankShards(be, TOY, 2, values, boundary);
    const [, dense] = shardsFrom(be, TOY, 2, values);
    await expect(runMicroBatch([first, dense], batchOf(TOY, 2, 4, 1))).rejects.toThrow(ShardInputError);
    await expect(runMicroBatch([first, dense], batchOf(TOY, 2, 4, 1))).rejects.toThrow('shard 0 has a rank-3 boundary but shard 1 has no boundary');
  });
});

describe('low-rank boundary: the residual stays in span(U)', () => {
  test('behavior: after every shard, x − (E[tok] + P[pos]) lies in span(U), and decode(encode(x)) = x (f64); a dense model fails both', async () => {
    const be = new CpuBackend({ precision: 'f64' });
    const values = perturbedValues(TOY, 5);
    const batch = batchOf(TOY, 2, TOY.contextLength, 4);
    const u = orthonormalBasis(TOY.width, RANK, BASIS_SEED);
    const boundary = LowRankBoundary.create(be, TOY, RANK, BASIS_SEED);
    const embeddings = { token: be.upload(values.get(TOKEN_EMBEDDING)!, [TOY.vocabSize, TOY.width]), position: be.upload(values.get(POSITION_EMBEDDING)!, [TOY.contextLength, TOY.width]) };
    const check = (shards: Shard[]) => {
      const ids = shards[0].tokens(batch.inputs, batch.B, batch.T);
      const out: { ratio: number; norm: number; roundTrip: number }[] = [];
      let x: Tensor = ids;
      for (const shard of shards.slice(0, -1)) {
        x = shard.forward(x);
        const dense = be.readFloat64(x);
        const rebuilt = boundary.decode(boundary.encode(x, ids, embeddings), ids, embeddings);
        out.push({ ...outsideSubspace(residual(dense, values, batch.inputs, batch.T, TOY.width), u, TOY.width, RANK), roundTrip: relativeError(be.readFloat64(rebuilt), dense) });
      }
      return out;
    };
    const lowRank = check(lowRankShards(be, TOY, 4, values, boundary));
    expect(lowRank).toHaveLength(3);
    for (const b of lowRank) {
      expect(b.norm).toBeGreaterThan(0.1);
      expect(b.ratio).toBeLessThan(EXACT);
      expect(b.roundTrip).toBeLessThan(EXACT);
    }
    // the control: a dense model's writes leave span(U), so its boundary cannot be rebuilt from z
    for (const b of check(shardsFrom(be, TOY, 4, values))) {
      expect(b.ratio).toBeGreaterThan(0.3);
      expect(b.roundTrip).toBeGreaterThan(0.01);
    }
  });
});

describe('low-rank boundary: gradients', () => {
  test('behavior: every parameter gradient of a low-rank model matches finite differences of its loss (f64)', async () => {
    const be = new CpuBackend({ precision: 'f64' });
    const batch = batchOf(TOY, 2, 6, 5);
    const boundary = LowRankBoundary.create(be, TOY, RANK, BASIS_SEED);
    // f64 copies so a perturbation of 1e-5 is not rounded away
    const values = new Map([...perturbedValues(TOY, 3)].map(([n, v]) => [n, Float64Array.from(v)])) as unknown as ParameterValues;
    const lossAt = () => {
      const [shard] = lowRankShards(be, TOY, 1, values, boundary);
      const loss = meanCrossEntropy(be.readFloat64(shard.forward(shard.tokens(batch.inputs, batch.B, batch.T))), batch.targets, TOY.vocabSize);
      shard.dispose();
      return loss;
    };
    const { loss, grads } = await runMicroBatch(lowRankShards(be, TOY, 1, values, boundary), batch);
    expect(loss).toBeCloseTo(lossAt(), 6);
    for (const p of parameterSpecs(TOY)) {
      const analytic = be.readFloat64(grads[0].get(p.name)!);
      const v = values.get(p.name)!;
      for (let k = 0; k < INDICES_PER_PARAMETER; k++) {
        const i = Math.floor(((k + 0.5) / INDICES_PER_PARAMETER) * v.length);
        const keep = v[i];
        v[i] = keep + STEP;
        const up = lossAt();
        v[i] = keep - STEP;
        const down = lossAt();
        v[i] = keep;
        const numeric = (up - down) / (2 * STEP);
        expect(Math.abs(numeric - analytic[i]), `${p.name}[${i}]: numeric ${numeric}, analytic ${analytic[i]}`).toBeLessThanOrEqual(ATOL + RTOL * Math.abs(numeric));
      }
    }
  });

  for (const S of [2, 3, 4]) {
    test(`behavior: S=${S} shards passing only z and dz (k per token) give the loss and every gradient of the unsharded low-rank model (f64, ${EXACT})`, async () => {
      const be = new CpuBackend({ precision: 'f64' });
      const values = perturbedValues(TOY, 11);
      const batch = batchOf(TOY, 3, TOY.contextLength, 2);
      const boundary = LowRankBoundary.create(be, TOY, RANK, BASIS_SEED);
      const whole = await runMicroBatch(lowRankShards(be, TOY, 1, values, boundary), batch);
      const shards = lowRankShards(be, TOY, S, values, boundary);
      // every input of shards 1…S−1 is rebuilt from z, every dy of shards 0…S−2 from dz
      const rebuilt = new Set<Tensor>();
      const crossed: number[][] = [];
      const wrap =
        <A extends unknown[]>(f: (...a: A) => Tensor) =>
        (...a: A) => {
          crossed.push([...(a[0] as Tensor).shape]);
          const t = f(...a);
          rebuilt.add(t);
          return t;
        };
      boundary.decode = wrap(boundary.decode.bind(boundary));
      boundary.decodeGradient = wrap(boundary.decodeGradient.bind(boundary));
      const expectRebuilt = (...inputs: Tensor[]) => expect(inputs.every((t) => rebuilt.has(t))).toBe(true);
      for (const shard of shards.slice(1)) {
        const { forward, backward, lossAndBackward } = shard;
        shard.forward = (x) => {
          expectRebuilt(x);
          return forward.call(shard, x);
        };
        shard.lossAndBackward = (x, t, o) => {
          expectRebuilt(x);
          return lossAndBackward.call(shard, x, t, o);
        };
        shard.backward = (x, dy) => {
          expectRebuilt(x, dy);
          return backward.call(shard, x, dy);
        };
      }
      const firstBackward = shards[0].backward;
      shards[0].backward = (x, dy) => {
        expectRebuilt(dy);
        return firstBackward.call(shards[0], x, dy);
      };
      const sharded = await runMicroBatch(shards, batch);
      expect(crossed.length).toBeGreaterThanOrEqual(2 * (S - 1));
      for (const shape of crossed) expect(shape).toEqual([batch.B, batch.T, RANK]);
      expect(Math.abs(sharded.loss - whole.loss) / whole.loss).toBeLessThanOrEqual(EXACT);
      let compared = 0;
      for (const grads of sharded.grads) {
        for (const [name, g] of grads) {
          expect(relativeError(be.readFloat64(g), be.readFloat64(whole.grads[0].get(name)!)), name).toBeLessThanOrEqual(EXACT);
          compared++;
        }
      }
      expect(compared).toBe(parameterSpecs(TOY).length);
    });
  }

  test('behavior: rank = width is the dense model: same loss and gradients (f64, 1e-10)', async () => {
    const be = new CpuBackend({ precision: 'f64' });
    const values = perturbedValues(TOY, 13);
    const batch = batchOf(TOY, 2, TOY.contextLength, 6);
    const full = LowRankBoundary.create(be, TOY, TOY.width, BASIS_SEED);
    const dense = await runMicroBatch(shardsFrom(be, TOY, 2, values), batch);
    const lowRank = await runMicroBatch(lowRankShards(be, TOY, 2, values, full), batch);
    expect(Math.abs(lowRank.loss - dense.loss) / dense.loss).toBeLessThanOrEqual(EXACT);
    lowRank.grads.forEach((grads, s) => {
      for (const [name, g] of grads) expect(relativeError(be.readFloat64(g), be.readFloat64(dense.grads[s].get(name)!)), name).toBeLessThanOrEqual(EXACT);
    });
  });
});
