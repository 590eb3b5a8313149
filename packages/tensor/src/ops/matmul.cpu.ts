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

/** Output rows computed together, so each loaded element of b feeds this many multiply-adds. */
const ROW_BLOCK = 4;

// a is (batch, M, K) or (batch, K, M) if transA; b is (K, N) / (N, K) if transB, per batch unless shared;
// bias is (N) or null; out is (batch, M, N). Every output sums in f64 over k in ascending order,
// whatever the layout; the loops are ordered (i-k-j, rows in blocks) so b is walked contiguously.
export function matmulForward(out: FloatArray, a: FloatArray, b: FloatArray, bias: FloatArray | null, l: MatmulLayout): void {
  const { batch, M, K, N, transA, transB, sharedB } = l;
  const acc = new Float64Array(ROW_BLOCK * N);
  const bT = transB ? new Float64Array(K * N) : null;
  for (let z = 0; z < batch; z++) {
    const aOff = z * M * K;
    let bRows: FloatArray = b;
    let bOff = sharedB ? 0 : z * K * N;
    if (bT) {
      if (z === 0 || !sharedB) transpose(bT, b, bOff, N, K);
      bRows = bT;
      bOff = 0;
    }
    for (let m0 = 0; m0 < M; m0 += ROW_BLOCK) {
      const rows = Math.min(ROW_BLOCK, M - m0);
      for (let r = 0; r < rows; r++) {
        for (let n = 0; n < N; n++) acc[r * N + n] = bias ? bias[n] : 0;
      }
      for (let k = 0; k < K; k++) {
        const bRow = bOff + k * N;
        // element (m0 + r, k) of op(a) is a[ak + r·aStride]
        const ak = transA ? aOff + k * M + m0 : aOff + m0 * K + k;
        const aStride = transA ? 1 : K;
        if (rows === ROW_BLOCK) {
          const a0 = a[ak],
            a1 = a[ak + aStride],
            a2 = a[ak + 2 * aStride],
            a3 = a[ak + 3 * aStride];
          for (let n = 0; n < N; n++) {
            const bv = bRows[bRow + n];
            acc[n] += a0 * bv;
            acc[N + n] += a1 * bv;
            acc[2 * N + n] += a2 * bv;
            acc[3 * N + n] += a3 * bv;
          }
        } else {
          for (let r = 0; r < rows; r++) {
            const av = a[ak + r * aStride];
            for (let n = 0; n < N; n++) acc[r * N + n] += av * bRows[bRow + n];
          }
        }
      }
      const o = z * M * N + m0 * N;
      for (let i = 0; i < rows * N; i++) out[o + i] = acc[i];
    }
  }
}

// src at offset off is (R, C); dst is (C, R).
function transpose(dst: Float64Array, src: FloatArray, off: number, R: number, C: number): void {
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < C; c++) dst[c * R + r] = src[off + r * C + c];
  }
}
// x is (R, C), out is (C): the sum of each column, rows in ascending order.
export function columnSum(out: FloatArray, x: FloatArray, R: number, C: number): void {
  out.fill(0);
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < C; c++) out[c] += x[r * C + c];
  }
}
