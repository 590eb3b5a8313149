import { encode } from '@openshard/data';
import { DEFAULT_OPTIMIZER, preset, Shard } from '@openshard/model';
import type { WireTensor } from '@openshard/protocol';
import { CpuBackend } from '@openshard/tensor';
import { createNodeWebGpuBackend } from '@openshard/tensor/node';
import { executeTask } from '@openshard/volunteer';
import { afterAll, describe, expect, test } from 'vitest';
import { TrainingRun } from '../src/training/training-run.ts';
import { compareResults } from '../src/trust/compare.ts';
import { DEFAULT_TRUST } from '../src/trust/trust-book.ts';
import { NUDGE } from './support/cheats.ts';

/**
 * The audit tolerance against real numerics: every task of a round of the `tiny` preset computed
 * by our WebGPU kernels (Dawn on SwiftShader, as CI has it) and by the CPU reference, which is
 * what the coordinator re-executes with. Honest results must sit far inside the tolerance; the
 * smallest cheat of the gallery far outside.
 */
const gpu = await createNodeWebGpuBackend();
afterAll(() => gpu.destroy());
const TOLERANCE = DEFAULT_TRUST.tolerance;

describe('audit tolerance (WebGPU vs CPU, tiny preset)', () => {
  test('behavior: honest WebGPU results agree with the CPU re-execution at least 10× inside the tolerance; a result nudged by 0.5% does not', async () => {
    const config = preset('tiny');
    const run = new TrainingRun(new CpuBackend(), encode('The audit compares two honest results of one task. '.repeat(40)), {
      config,
      shards: 2,
      batch: 2,
      microBatches: 1,
      seed: 4,
      optimizer: DEFAULT_OPTIMIZER,
    });
    const worst: Record<string, number> = {};
    for (let closed = false; !closed; ) {
      const t = run.plan.ready()[0];
      const values = await run.shards[t.shard].values();
      const inputs = run.inputs(t);
      const onGpu = Shard.fromValues(gpu, config, run.specs[t.shard], (p) => values.get(p.name)!);
      const honest = await executeTask(onGpu, t.kind, inputs.tensors, inputs.lossScale);
      onGpu.dispose();
      const reference = await executeTask(run.shards[t.shard].shard, t.kind, inputs.tensors, inputs.lossScale);
      const agreement = compareResults(honest, reference, TOLERANCE);
      worst[t.kind] = Math.max(worst[t.kind] ?? 0, agreement.error);
      expect(agreement.error, `${t.kind} on shard ${t.shard}: ${agreement.worst}`).toBeLessThan(TOLERANCE / 10);
      const nudged = { ...honest, tensors: honest.tensors.map((x: WireTensor) => ({ ...x, data: (x.data as Float32Array).map((v) => v * NUDGE) })) };
      expect(compareResults(nudged, reference, TOLERANCE).agree, `nudged ${t.kind}`).toBe(false);
      closed = run.accept(t, reference).closed !== undefined;
    }
    console.log(`largest honest WebGPU-vs-CPU relative error by task kind: ${JSON.stringify(worst)}`);
    expect(Object.keys(worst).sort()).toEqual(['backward', 'forward', 'lossAndBackward']);
  }, 120_000);
});
