import type { Backend, Tensor } from '@openshard/tensor';
import { initParameter, parameterSpecs, partition, Shard, type GptConfig, type ParameterValues } from '../src/index.ts';

/** A model small enough for finite differences and quick partition checks. */
export const TOY: GptConfig = { vocabSize: 23, contextLength: 8, layers: 4, heads: 2, width: 8 };

export function initValues(c: GptConfig, seed: number): ParameterValues {
  return new Map(parameterSpecs(c).map((p) => [p.name, initParameter(c, p, seed)]));
}

/** Random-looking but non-trivial weights: init plus noise on every parameter, LayerNorms included. */
export function perturbedValues(c: GptConfig, seed: number): ParameterValues {
  const values = initValues(c, seed);
  let s = seed;
  for (const v of values.values()) {
    for (let i = 0; i < v.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      v[i] += (s / 2 ** 32 - 0.5) * 0.2;
    }
  }
  return values;
}

export function shardsFrom(be: Backend, c: GptConfig, S: number, values: ParameterValues): Shard[] {
  return partition(c, S).map((spec) => Shard.fromValues(be, c, spec, (p) => values.get(p.name)!));
}

export function batchOf(c: GptConfig, B: number, T: number, seed: number) {
  let s = seed;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % c.vocabSize;
  };
  const inputs = Int32Array.from({ length: B * T }, next);
  const targets = Int32Array.from({ length: B * T }, next);
  return { B, T, inputs, targets };
}

export async function readAll(be: Backend, grads: Map<string, Tensor>): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [name, t] of grads) out.set(name, (await be.read(t)) as Float32Array);
  return out;
}

/** Mean cross-entropy of logits [N, V] against targets, computed here in f64 from the model's logits. */
export function meanCrossEntropy(logits: Float64Array, targets: Int32Array, V: number): number {
  let total = 0;
  for (let n = 0; n < targets.length; n++) {
    const row = logits.subarray(n * V, (n + 1) * V);
    const max = Math.max(...row);
    let sum = 0;
    for (const x of row) sum += Math.exp(x - max);
    total += Math.log(sum) + max - row[targets[n]];
  }
  return total / targets.length;
}
