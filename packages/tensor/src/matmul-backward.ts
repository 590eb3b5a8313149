import type { Backend, MatmulGradients, MatmulOptions } from './backend.ts';
import { matmulDims } from './check.ts';
import type { Tensor } from './tensor.ts';

/**
 * Gradients of out = op(a) @ op(b) + bias, written once in terms of matmul and columnSum
 * so every backend shares it:
 *   d op(a) = dOut @ op(b)ᵀ,   d op(b) = op(a)ᵀ @ dOut,   dBias = Σ_rows dOut.
 * A b shared across a batch gets the sum over the batch, by folding the batch into rows.
 */
export function matmulBackward(be: Backend, dOut: Tensor, a: Tensor, b: Tensor, options: MatmulOptions = {}): MatmulGradients {
  const transA = !!options.transA;
  const transB = !!options.transB;
  const d = matmulDims(a, b, options);
  const fold = d.sharedB && a.shape.length === 3;
  if (fold && transA) {
    throw new Error('matmulBackward: a transposed batched a with a shared b is not supported; pass a as [B·M, K]');
  }
  const aFlat = fold ? be.reshape(a, [d.batch * d.M, d.K]) : a;
  const dFlat = fold ? be.reshape(dOut, [d.batch * d.M, d.N]) : dOut;
  try {
    const dAFlat = transA ? be.matmul(b, dFlat, { transA: transB, transB: true }) : be.matmul(dFlat, b, { transB: !transB });
    const dA = fold ? be.reshape(dAFlat, a.shape) : dAFlat;
    if (fold) dAFlat.dispose();
    const dB = transB ? be.matmul(dFlat, aFlat, { transA: true, transB: transA }) : be.matmul(aFlat, dFlat, { transA: !transA });
    const grads: MatmulGradients = { dA, dB };
    if (options.bias) {
      const rows = be.reshape(dOut, [dOut.size / d.N, d.N]);
      grads.dBias = be.columnSum(rows);
      rows.dispose();
    }
    return grads;
  } finally {
    if (fold) {
      aFlat.dispose();
      dFlat.dispose();
    }
  }
}
