import { encode } from '@openshard/data';
import { DEFAULT_OPTIMIZER, type GptConfig } from '@openshard/model';
import { CpuBackend } from '@openshard/tensor';
import { createNodeWebGpuBackend } from '@openshard/tensor/node';
import { afterAll, describe, expect, test } from 'vitest';
import { Trainer, type TrainingOptions } from '../src/index.ts';

/**
 * WebGPU sums in another order than the CPU reference (tiled matmuls, tree reductions), so
 * f32 rounding differs; after a few AdamW steps the losses agree to this relative tolerance.
 */
const WEBGPU_LOSS_RTOL = 1e-4;
const WEBGPU_WEIGHT_ATOL = 1e-4;

const CONFIG: GptConfig = { vocabSize: 256, contextLength: 16, layers: 2, heads: 2, width: 32 };
const TEXT = encode('Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse. '.repeat(4));
const OPTIONS: TrainingOptions = {
  config: CONFIG,
  shards: 2,
  batch: 2,
  microBatches: 2,
  seed: 9,
  optimizer: { ...DEFAULT_OPTIMIZER, warmupSteps: 1, decaySteps: 10 },
};

describe('trainer on WebGPU (Dawn)', () => {
  test('behavior: three steps of the sharded model give the CPU reference losses and weights', async () => {
    const gpu = await createNodeWebGpuBackend();
    afterAll(() => gpu.destroy());
    const onGpu = new Trainer(gpu, TEXT, OPTIONS);
    const onCpu = new Trainer(new CpuBackend(), TEXT, OPTIONS);
    for (let i = 0; i < 3; i++) {
      const [g, c] = [await onGpu.trainStep(), await onCpu.trainStep()];
      expect(Math.abs(g.loss - c.loss) / c.loss, `step ${i + 1}: webgpu ${g.loss}, cpu ${c.loss}`).toBeLessThanOrEqual(WEBGPU_LOSS_RTOL);
    }
    const [gw, cw] = [await onGpu.parameterValues(), await onCpu.parameterValues()];
    for (const [name, v] of cw) {
      const g = gw.get(name)!;
      let worst = 0;
      for (let i = 0; i < v.length; i++) worst = Math.max(worst, Math.abs(g[i] - v[i]));
      expect(worst, name).toBeLessThanOrEqual(WEBGPU_WEIGHT_ATOL);
    }
    onGpu.dispose();
  });
});
