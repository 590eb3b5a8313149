import { expect, test } from 'vitest';
import { CpuBackend } from '../src/cpu/backend.ts';

const be = new CpuBackend({ precision: 'f64' });

test('behavior: with a constant gradient every bias-corrected AdamW step moves each weight by lr·sign(g)', async () => {
  const lr = 0.01;
  const p0 = Float64Array.from([0.5, -1.5, 2]);
  const g = Float64Array.from([3, -0.25, 1e-3]);
  const param = be.upload(p0, [3]);
  const grad = be.upload(g, [3]);
  const m = be.zeros([3]);
  const v = be.zeros([3]);
  for (let step = 1; step <= 5; step++) {
    be.adamw(param, grad, m, v, { lr, beta1: 0.9, beta2: 0.999, eps: 0, weightDecay: 0, step });
  }
  const p = be.readFloat64(param);
  for (let i = 0; i < 3; i++) expect(p[i]).toBeCloseTo(p0[i] - 5 * lr * Math.sign(g[i]), 12);
});

test('behavior: weight decay is decoupled: it shrinks weights by lr·λ before the Adam update, as torch.optim.AdamW', async () => {
  const lr = 0.1;
  const wd = 0.5;
  const param = be.upload(Float64Array.from([2]), [1]);
  const grad = be.upload(Float64Array.from([4]), [1]);
  be.adamw(param, grad, be.zeros([1]), be.zeros([1]), { lr, beta1: 0.9, beta2: 0.95, eps: 0, weightDecay: wd, step: 1 });
  expect(be.readFloat64(param)[0]).toBeCloseTo(2 * (1 - lr * wd) - lr, 12);
});
