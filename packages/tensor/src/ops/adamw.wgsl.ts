import { ELEMENTWISE_MAIN, defineKernel, ro, rw } from '../webgpu/kernel.ts';

// param, m, v are updated in place; the bias corrections come precomputed in float64.
export const adamwKernel = defineKernel(
  'adamw',
  [
    ['n', 'u32'],
    ['lr', 'f32'],
    ['beta1', 'f32'],
    ['beta2', 'f32'],
    ['eps', 'f32'],
    ['decay', 'f32'],
    ['correction1', 'f32'],
    ['correction2', 'f32'],
  ],
  [rw('param'), ro('grad'), rw('m'), rw('v')],
  `${ELEMENTWISE_MAIN}
  let g = grad[i];
  let mi = p.beta1 * m[i] + (1.0 - p.beta1) * g;
  let vi = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  let mHat = mi / p.correction1;
  let vHat = vi / p.correction2;
  param[i] = param[i] * p.decay - p.lr * mHat / (sqrt(vHat) + p.eps);
}`,
);
