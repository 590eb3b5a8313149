import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, test } from 'vitest';
import type { Backend } from '../src/backend.ts';
import { CpuBackend } from '../src/cpu/backend.ts';
import { Random } from '../src/random.ts';
import type { Tensor } from '../src/tensor.ts';
import { GptBlock } from './gpt-block.ts';
import { nodeWebGpu } from './webgpu-node.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const STEPS = 1000;
const WARM_STEP = 100;
/** JS heap growth allowed between step 100 and step 1000, after a full GC. */
const HEAP_GROWTH_LIMIT_BYTES = 4 * 1024 * 1024;
const SHAPE = { B: 1, T: 4, C: 8, heads: 2 };

const gpu = await nodeWebGpu();

async function heapAfterGc(): Promise<number> {
  await new Promise((r) => setTimeout(r, 0));
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe.each([
  ['cpu', new CpuBackend() as Backend],
  ['webgpu', gpu as Backend],
])('%s: memory stays flat', (name, be) => {
  test(`behavior: ${STEPS} steps of a block's forward+backward+AdamW allocate nothing that lives on`, async () => {
    const rng = new Random(3);
    const n = SHAPE.B * SHAPE.T * SHAPE.C;
    const block = new GptBlock(be, SHAPE);
    const x = be.upload(rng.normals(n), [SHAPE.B, SHAPE.T, SHAPE.C]);
    const dy = be.upload(rng.normals(n), [SHAPE.B, SHAPE.T, SHAPE.C]);
    let warmHeap = 0;
    let warmPool = name === 'webgpu' ? gpu.memoryStats() : null;
    let first: Float32Array | null = null;
    let y: Tensor | null = null;
    for (let step = 1; step <= STEPS; step++) {
      y?.dispose();
      y = block.trainStep(x, dy);
      if (step % 10 === 0) {
        const out = (await be.read(y)) as Float32Array;
        expect(out.every(Number.isFinite)).toBe(true);
        first ??= out;
      }
      if (step === WARM_STEP) {
        warmHeap = await heapAfterGc();
        if (name === 'webgpu') warmPool = gpu.memoryStats();
      }
    }
    const finalOut = (await be.read(y!)) as Float32Array;
    expect(finalOut).not.toEqual(first); // the block really trained
    const heapGrowth = (await heapAfterGc()) - warmHeap;
    expect(heapGrowth).toBeLessThan(HEAP_GROWTH_LIMIT_BYTES);
    if (name === 'webgpu') {
      const pool = gpu.memoryStats();
      expect(pool.created).toBe(warmPool!.created);
      expect(pool.live).toBe(warmPool!.live);
      expect(pool.bytes).toBe(warmPool!.bytes);
    }
    y!.dispose();
    block.dispose();
    x.dispose();
    dy.dispose();
    if (name === 'webgpu') expect(gpu.memoryStats().live).toBe(0);
  }, 300_000);
});
