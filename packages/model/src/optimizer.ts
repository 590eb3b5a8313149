import type { Backend, Tensor } from '@openshard/tensor';
import type { ParameterSpec } from './parameters.ts';

/** AdamW with linear warmup and cosine decay, as nanoGPT. */
export interface OptimizerConfig {
  learningRate: number;
  /** The learning rate cosine decay ends at. */
  minLearningRate: number;
  warmupSteps: number;
  /** Steps over which the rate decays from its peak to minLearningRate; constant afterwards. */
  decaySteps: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export const DEFAULT_OPTIMIZER: OptimizerConfig = {
  learningRate: 1e-3,
  minLearningRate: 1e-4,
  warmupSteps: 100,
  decaySteps: 2000,
  beta1: 0.9,
  // nanoGPT's small-model setting: few tokens per step
  beta2: 0.99,
  eps: 1e-8,
  weightDecay: 0.1,
};

/** The learning rate of 1-based optimizer step `step`. */
export function learningRate(o: OptimizerConfig, step: number): number {
  if (step <= o.warmupSteps) return (o.learningRate * step) / o.warmupSteps;
  if (step >= o.decaySteps) return o.minLearningRate;
  const progress = (step - o.warmupSteps) / (o.decaySteps - o.warmupSteps);
  return o.minLearningRate + 0.5 * (1 + Math.cos(Math.PI * progress)) * (o.learningRate - o.minLearningRate);
}

/** First and second moments of one parameter. */
export interface Moments {
  m: Tensor;
  v: Tensor;
}

/**
 * AdamW state for a set of parameters (a shard's, or the whole model's): moments on the
 * backend, stepped in place. Decay applies only to parameters whose spec says so.
 */
export class ShardOptimizer {
  readonly moments = new Map<string, Moments>();

  constructor(
    readonly backend: Backend,
    private readonly parameters: readonly ParameterSpec[],
    readonly config: OptimizerConfig,
    initial?: (name: string) => { m: Float32Array; v: Float32Array },
  ) {
    for (const p of parameters) {
      const init = initial?.(p.name);
      this.moments.set(p.name, {
        m: init ? backend.upload(init.m, p.shape) : backend.zeros(p.shape),
        v: init ? backend.upload(init.v, p.shape) : backend.zeros(p.shape),
      });
    }
  }

  /** One AdamW step (1-based `step`) of every parameter with its summed gradient. */
  step(weights: ReadonlyMap<string, Tensor>, grads: ReadonlyMap<string, Tensor>, step: number): void {
    const lr = learningRate(this.config, step);
    for (const p of this.parameters) {
      const grad = grads.get(p.name);
      if (!grad) throw new Error(`optimizer step ${step}: no gradient for '${p.name}'`);
      const { m, v } = this.moments.get(p.name)!;
      this.backend.adamw(weights.get(p.name)!, grad, m, v, {
        lr,
        beta1: this.config.beta1,
        beta2: this.config.beta2,
        eps: this.config.eps,
        weightDecay: p.decay ? this.config.weightDecay : 0,
        step,
      });
    }
  }

  dispose(): void {
    for (const { m, v } of this.moments.values()) m.dispose(), v.dispose();
  }
}
