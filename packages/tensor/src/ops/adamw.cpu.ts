import type { AdamWParameters } from '../backend.ts';
import type { FloatArray } from '../tensor.ts';

/** The scalars of one AdamW step, computed once in float64 and shared by every backend. */
export function adamwScalars(hp: AdamWParameters) {
  return {
    lr: hp.lr,
    beta1: hp.beta1,
    beta2: hp.beta2,
    eps: hp.eps,
    decay: 1 - hp.lr * hp.weightDecay,
    correction1: 1 - hp.beta1 ** hp.step,
    correction2: 1 - hp.beta2 ** hp.step,
  };
}

// param, grad, m, v are (n); param, m and v are updated in place, as torch.optim.AdamW does.
export function adamwStep(param: FloatArray, grad: FloatArray, m: FloatArray, v: FloatArray, hp: AdamWParameters): void {
  const s = adamwScalars(hp);
  for (let i = 0; i < param.length; i++) {
    const g = grad[i];
    m[i] = s.beta1 * m[i] + (1 - s.beta1) * g;
    v[i] = s.beta2 * v[i] + (1 - s.beta2) * g * g;
    const mHat = m[i] / s.correction1;
    const vHat = v[i] / s.correction2;
    param[i] = param[i] * s.decay - (s.lr * mHat) / (Math.sqrt(vHat) + s.eps);
  }
}
