import { TensorShapeError } from '../errors.ts';
import type { FloatArray } from '../tensor.ts';

function checkTarget(op: string, target: number, n: number, V: number): void {
  if (!Number.isInteger(target) || target < 0 || target >= V) {
    throw new TensorShapeError(op, `target ${target} at row ${n} is outside the vocabulary [0, ${V})`);
  }
}

// logits and probs are (N, V), targets and losses are (N). loss = logsumexp(logits) − logits[target].
export function crossEntropyForward(losses: FloatArray, probs: FloatArray, logits: FloatArray, targets: Int32Array, N: number, V: number): void {
  for (let n = 0; n < N; n++) {
    const row = n * V;
    checkTarget('crossEntropy', targets[n], n, V);
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, logits[row + v]);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[row + v] - max);
    for (let v = 0; v < V; v++) probs[row + v] = Math.exp(logits[row + v] - max) / sum;
    losses[n] = Math.log(sum) + max - logits[row + targets[n]];
  }
}

// dLogits is (N, V): (probs − onehot(target)) · dLoss.
export function crossEntropyBackward(dLogits: FloatArray, probs: FloatArray, targets: Int32Array, dLoss: number, N: number, V: number): void {
  for (let n = 0; n < N; n++) {
    checkTarget('crossEntropyBackward', targets[n], n, V);
    for (let v = 0; v < V; v++) {
      dLogits[n * V + v] = (probs[n * V + v] - (v === targets[n] ? 1 : 0)) * dLoss;
    }
  }
}
