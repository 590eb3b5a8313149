import { CpuBackend } from '../../src/cpu/backend.ts';
import { WebGpuBackend } from '../../src/webgpu/backend.ts';
import { Random } from '../../src/random.ts';
import { GptBlock } from '../gpt-block.ts';
import { parityCases, runParity } from '../../src/parity.ts';
import { matmulPathCases } from '../matmul-parity-cases.ts';

/** Entry points the Playwright spec calls inside the page. */
const api = {
  async hasWebGpu(): Promise<boolean> {
    return !!navigator.gpu && !!(await navigator.gpu.requestAdapter());
  },
  async parity() {
    const gpu = await WebGpuBackend.create();
    try {
      return { adapter: gpu.adapterSummary, rows: await runParity(new CpuBackend(), gpu, [...parityCases, ...matmulPathCases]) };
    } finally {
      gpu.destroy();
    }
  },
  /** A few training steps of one block on both backends: the outputs, for comparison. */
  async blockSteps(steps: number) {
    const gpu = await WebGpuBackend.create();
    const shape = { B: 2, T: 5, C: 12, heads: 3 };
    const outs: number[][] = [];
    for (const be of [new CpuBackend(), gpu]) {
      const rng = new Random(9);
      const block = new GptBlock(be, shape);
      const n = shape.B * shape.T * shape.C;
      const x = be.upload(rng.normals(n), [shape.B, shape.T, shape.C]);
      const dy = be.upload(rng.normals(n), [shape.B, shape.T, shape.C]);
      let y = block.trainStep(x, dy);
      for (let i = 1; i < steps; i++) {
        y.dispose();
        y = block.trainStep(x, dy);
      }
      outs.push(Array.from(await be.read(y)));
    }
    const pool = gpu.memoryStats();
    gpu.destroy();
    return { cpu: outs[0], webgpu: outs[1], pool };
  },
};

Object.assign(window, { parityApi: api });
document.getElementById('log')!.textContent = 'ready';
