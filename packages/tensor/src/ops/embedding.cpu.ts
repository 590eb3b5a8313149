import { TensorShapeError } from '../errors.ts';
import type { FloatArray } from '../tensor.ts';

function checkId(op: string, id: number, n: number, V: number): void {
  if (!Number.isInteger(id) || id < 0 || id >= V) {
    throw new TensorShapeError(op, `id ${id} at position ${n} is outside the vocabulary [0, ${V})`);
  }
}

// ids is (N), table is (V, C), out is (N, C).
export function embeddingForward(out: FloatArray, ids: Int32Array, table: FloatArray, N: number, V: number, C: number): void {
  for (let n = 0; n < N; n++) {
    const id = ids[n];
    checkId('embedding', id, n, V);
    for (let c = 0; c < C; c++) out[n * C + c] = table[id * C + c];
  }
}

// dTable is (V, C) and is overwritten; dOut is (N, C). Rows are added in ascending position order.
export function embeddingBackward(dTable: FloatArray, ids: Int32Array, dOut: FloatArray, N: number, V: number, C: number): void {
  dTable.fill(0);
  for (let n = 0; n < N; n++) {
    const id = ids[n];
    checkId('embeddingBackward', id, n, V);
    for (let c = 0; c < C; c++) dTable[id * C + c] += dOut[n * C + c];
  }
}
