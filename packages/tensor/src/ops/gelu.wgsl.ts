import { ELEMENTWISE_MAIN, defineKernel, ro, rw } from '../webgpu/kernel.ts';

// tanh through exp(−2|u|) ∈ (0, 1]: never overflows, unlike (e^2u − 1)/(e^2u + 1).
const geluMath = /* wgsl */ `
const GELU_SCALE: f32 = 0.7978845608028654;
const GELU_CUBIC: f32 = 0.044715;
fn safe_tanh(u: f32) -> f32 {
  let e = exp(-2.0 * abs(u));
  return sign(u) * (1.0 - e) / (1.0 + e);
}`;

export const geluKernel = defineKernel(
  'gelu',
  [['n', 'u32']],
  [rw('out'), ro('x')],
  `${geluMath}
${ELEMENTWISE_MAIN}
  let v = x[i];
  out[i] = 0.5 * v * (1.0 + safe_tanh(GELU_SCALE * (v + GELU_CUBIC * v * v * v)));
}`,
);

export const geluBackwardKernel = defineKernel(
  'geluBackward',
  [['n', 'u32']],
  [rw('dx'), ro('x'), ro('dOut')],
  `${geluMath}
${ELEMENTWISE_MAIN}
  let v = x[i];
  let t = safe_tanh(GELU_SCALE * (v + GELU_CUBIC * v * v * v));
  let local = 0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * GELU_SCALE * (1.0 + 3.0 * GELU_CUBIC * v * v);
  dx[i] = local * dOut[i];
}`,
);
