import type { FloatArray } from '../tensor.ts';

export const GELU_SCALE = Math.sqrt(2 / Math.PI);
export const GELU_CUBIC = 0.044715;

// x, out are (n): GELU with the tanh approximation, as in GPT-2.
export function geluForward(out: FloatArray, x: FloatArray): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    out[i] = 0.5 * v * (1 + Math.tanh(GELU_SCALE * (v + GELU_CUBIC * v * v * v)));
  }
}

export function geluBackward(dx: FloatArray, x: FloatArray, dOut: FloatArray): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    const u = GELU_SCALE * (v + GELU_CUBIC * v * v * v);
    const t = Math.tanh(u);
    const sech2 = 1 - t * t;
    const local = 0.5 * (1 + t) + 0.5 * v * sech2 * GELU_SCALE * (1 + 3 * GELU_CUBIC * v * v);
    dx[i] = local * dOut[i];
  }
}
