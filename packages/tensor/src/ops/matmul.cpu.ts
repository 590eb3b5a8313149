import type { FloatArray } from '../tensor.ts';

export interface MatmulLayout {
  batch: number;
  M: number;
  K: number;
  N: number;
  transA: boolean;
  transB: boolean;
  /** b is one [K,N] matrix used by every batch entry. */
  sharedB: boolean;
}

// a is (batch, M, K) or (batch, K, M) if transA; b is (K, N) / (N, K) if transB, per batch unless shared;
// bias is (N) or null; out is (batch, M, N).
export function matmulForward(out: FloatArray, a: FloatArray, b: FloatArray, bias: FloatArray | null, l: MatmulLayout): void {
  const { batch, M, K, N, transA, transB, sharedB } = l;
  for (let z = 0; z < batch; z++) {
    const aOff = z * M * K;
    const bOff = sharedB ? 0 : z * K * N;
    const oOff = z * M * N;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let acc = bias ? bias[n] : 0;
        for (let k = 0; k < K; k++) {
          const av = transA ? a[aOff + k * M + m] : a[aOff + m * K + k];
          const bv = transB ? b[bOff + n * K + k] : b[bOff + k * N + n];
          acc += av * bv;
        }
        out[oOff + m * N + n] = acc;
      }
    }
  }
}

// x is (R, C), out is (C): the sum of each column, rows in ascending order.
export function columnSum(out: FloatArray, x: FloatArray, R: number, C: number): void {
  out.fill(0);
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < C; c++) out[c] += x[r * C + c];
  }
}
