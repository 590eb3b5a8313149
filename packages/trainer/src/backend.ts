import { CpuBackend, type Backend } from '@openshard/tensor';

export type BackendName = 'cpu' | 'webgpu';

export async function createBackend(name: string): Promise<Backend> {
  if (name === 'cpu') return new CpuBackend();
  if (name === 'webgpu') {
    const { createNodeWebGpuBackend } = await import('@openshard/tensor/node');
    return createNodeWebGpuBackend();
  }
  throw new RangeError(`backend '${name}' is not one of cpu, webgpu`);
}
