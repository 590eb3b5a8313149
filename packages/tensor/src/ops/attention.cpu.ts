import type { FloatArray } from '../tensor.ts';

export interface AttentionLayout {
  B: number;
  T: number;
  C: number;
  heads: number;
}

// qkv is (B, T, 3C) holding q, k, v side by side, each (B, T, H, hs) with hs = C / H.
// att is (B, H, T, T): softmax over t2 ≤ t of q·k/√hs, zero above the diagonal. out is (B, T, C).
export function attentionForward(out: FloatArray, att: FloatArray, qkv: FloatArray, l: AttentionLayout): void {
  const { B, T, C, heads } = l;
  const hs = C / heads;
  const scale = 1 / Math.sqrt(hs);
  const C3 = 3 * C;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < heads; h++) {
      for (let t = 0; t < T; t++) {
        const q = b * T * C3 + t * C3 + h * hs;
        const row = ((b * heads + h) * T + t) * T;
        let max = -Infinity;
        for (let t2 = 0; t2 <= t; t2++) {
          const k = b * T * C3 + t2 * C3 + C + h * hs;
          let dot = 0;
          for (let i = 0; i < hs; i++) dot += qkv[q + i] * qkv[k + i];
          dot *= scale;
          att[row + t2] = dot;
          if (dot > max) max = dot;
        }
        let sum = 0;
        for (let t2 = 0; t2 <= t; t2++) {
          const e = Math.exp(att[row + t2] - max);
          att[row + t2] = e;
          sum += e;
        }
        for (let t2 = 0; t2 < T; t2++) att[row + t2] = t2 <= t ? att[row + t2] / sum : 0;
        const o = b * T * C + t * C + h * hs;
        for (let i = 0; i < hs; i++) {
          let acc = 0;
          for (let t2 = 0; t2 <= t; t2++) acc += att[row + t2] * qkv[b * T * C3 + t2 * C3 + 2 * C + h * hs + i];
          out[o + i] = acc;
        }
      }
    }
  }
}

// dOut is (B, T, C); dqkv (B, T, 3C) is overwritten.
export function attentionBackward(dqkv: FloatArray, dOut: FloatArray, qkv: FloatArray, att: FloatArray, l: AttentionLayout): void {
  const { B, T, C, heads } = l;
  const hs = C / heads;
  const scale = 1 / Math.sqrt(hs);
  const C3 = 3 * C;
  const dpre = new Float64Array(T);
  dqkv.fill(0);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < heads; h++) {
      for (let t = 0; t < T; t++) {
        const row = ((b * heads + h) * T + t) * T;
        const o = b * T * C + t * C + h * hs;
        // datt[t2] = dOut[t]·v[t2]; softmax backward: dpre = att ⊙ (datt − Σ att·datt)
        let dot = 0;
        for (let t2 = 0; t2 <= t; t2++) {
          const v = b * T * C3 + t2 * C3 + 2 * C + h * hs;
          let datt = 0;
          for (let i = 0; i < hs; i++) {
            datt += dOut[o + i] * qkv[v + i];
            dqkv[v + i] += att[row + t2] * dOut[o + i];
          }
          dpre[t2] = datt;
          dot += att[row + t2] * datt;
        }
        const q = b * T * C3 + t * C3 + h * hs;
        for (let t2 = 0; t2 <= t; t2++) {
          const g = att[row + t2] * (dpre[t2] - dot) * scale;
          const k = b * T * C3 + t2 * C3 + C + h * hs;
          for (let i = 0; i < hs; i++) {
            dqkv[q + i] += g * qkv[k + i];
            dqkv[k + i] += g * qkv[q + i];
          }
        }
      }
    }
  }
}
