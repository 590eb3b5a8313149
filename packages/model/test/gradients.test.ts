import { CpuBackend } from '@openshard/tensor';
import { describe, expect, test } from 'vitest';
import { parameterSpecs, runMicroBatch } from '../src/index.ts';
import { batchOf, meanCrossEntropy, perturbedValues, shardsFrom, TOY } from './helpers.ts';

/** Central differences in f64: the error is O(h²) plus rounding near 1e-16/h. */
const STEP = 1e-5;
const ATOL = 1e-7;
const RTOL = 1e-5;
const INDICES_PER_PARAMETER = 3;

describe('whole-model gradients', () => {
  test('behavior: every parameter gradient of a full step matches finite differences of the loss (f64)', async () => {
    const be = new CpuBackend({ precision: 'f64' });
    const c = TOY;
    const batch = batchOf(c, 2, 6, 5);
    const base = perturbedValues(c, 3);
    const lossAt = (values: Map<string, Float32Array | Float64Array>) => {
      const [shard] = shardsFrom(be, c, 1, values as Map<string, Float32Array>);
      const logits = shard.forward(shard.tokens(batch.inputs, batch.B, batch.T));
      const loss = meanCrossEntropy(be.readFloat64(logits), batch.targets, c.vocabSize);
      shard.dispose();
      return loss;
    };
    // f64 copies so a perturbation of 1e-5 is not rounded away
    const values = new Map([...base].map(([n, v]) => [n, Float64Array.from(v)]));
    const shards = shardsFrom(be, c, 1, values as unknown as Map<string, Float32Array>);
    const { loss, grads } = await runMicroBatch(shards, batch);
    expect(loss).toBeCloseTo(lossAt(values), 6);
    let worst = 0;
    for (const p of parameterSpecs(c)) {
      const analytic = be.readFloat64(grads[0].get(p.name)!);
      const v = values.get(p.name)!;
      for (let k = 0; k < INDICES_PER_PARAMETER; k++) {
        const i = Math.floor(((k + 0.5) / INDICES_PER_PARAMETER) * v.length);
        const keep = v[i];
        v[i] = keep + STEP;
        const up = lossAt(values);
        v[i] = keep - STEP;
        const down = lossAt(values);
        v[i] = keep;
        const numeric = (up - down) / (2 * STEP);
        const err = Math.abs(numeric - analytic[i]);
        worst = Math.max(worst, err / (ATOL + RTOL * Math.abs(numeric)));
        expect(err, `${p.name}[${i}]: numeric ${numeric}, analytic ${analytic[i]}`).toBeLessThanOrEqual(ATOL + RTOL * Math.abs(numeric));
      }
    }
    expect(worst).toBeLessThanOrEqual(1);
  });
});
