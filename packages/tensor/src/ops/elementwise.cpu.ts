import type { FloatArray } from '../tensor.ts';

export function addForward(out: FloatArray, a: FloatArray, b: FloatArray): void {
  for (let i = 0; i < out.length; i++) out[i] = a[i] + b[i];
}

export function accumulate(dst: FloatArray, src: FloatArray): void {
  for (let i = 0; i < dst.length; i++) dst[i] += src[i];
}
