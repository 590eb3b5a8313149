import { afterAll } from 'vitest';
import type { WebGpuBackend } from '../src/webgpu/backend.ts';
import { createNodeWebGpuBackend } from '../src/webgpu/node-gpu.ts';

/** One Dawn-backed backend per test file, destroyed when the file's tests end. */
export async function nodeWebGpu(): Promise<WebGpuBackend> {
  const be = await createNodeWebGpuBackend();
  afterAll(() => be.destroy());
  return be;
}
