export * from './backend.ts';
export * from './errors.ts';
export * from './tensor.ts';
export { CpuBackend } from './cpu/backend.ts';
export { WebGpuBackend } from './webgpu/backend.ts';
export { adapterName, summarizeAdapter, type AdapterSummary } from './webgpu/device.ts';
export type { BufferPoolStats } from './webgpu/buffer-pool.ts';
export { defineKernel, ro, rw, type Kernel } from './webgpu/kernel.ts';
export { Random } from './random.ts';
