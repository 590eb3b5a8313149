import type { FloatArray } from '../tensor.ts';

// x is (N, C), weight and bias are (C); out is (N, C), mean and rstd are (N).
export function layernormForward(out: FloatArray, mean: FloatArray, rstd: FloatArray, x: FloatArray, weight: FloatArray, bias: FloatArray, N: number, C: number, eps: number): void {
  for (let n = 0; n < N; n++) {
    const row = n * C;
    let m = 0;
    for (let c = 0; c < C; c++) m += x[row + c];
    m /= C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[row + c] - m) ** 2;
    v /= C;
    const s = 1 / Math.sqrt(v + eps);
    for (let c = 0; c < C; c++) out[row + c] = (x[row + c] - m) * s * weight[c] + bias[c];
    mean[n] = m;
    rstd[n] = s;
  }
}

// dOut and x are (N, C); dx is (N, C), dWeight and dBias are (C); all outputs are overwritten.
export function layernormBackward(
  dx: FloatArray,
  dWeight: FloatArray,
  dBias: FloatArray,
  dOut: FloatArray,
  x: FloatArray,
  weight: FloatArray,
  mean: FloatArray,
  rstd: FloatArray,
  N: number,
  C: number,
): void {
  dWeight.fill(0);
  dBias.fill(0);
  for (let n = 0; n < N; n++) {
    const row = n * C;
    let dnormMean = 0;
    let dnormNormMean = 0;
    for (let c = 0; c < C; c++) {
      const norm = (x[row + c] - mean[n]) * rstd[n];
      const dnorm = dOut[row + c] * weight[c];
      dnormMean += dnorm;
      dnormNormMean += dnorm * norm;
    }
    dnormMean /= C;
    dnormNormMean /= C;
    for (let c = 0; c < C; c++) {
      const norm = (x[row + c] - mean[n]) * rstd[n];
      const dnorm = dOut[row + c] * weight[c];
      dx[row + c] = (dnorm - dnormMean - norm * dnormNormMean) * rstd[n];
      dWeight[c] += dOut[row + c] * norm;
      dBias[c] += dOut[row + c];
    }
  }
}
