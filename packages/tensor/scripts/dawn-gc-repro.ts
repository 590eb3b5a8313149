/**
 * The root cause of the intermittent dawn.node crashes, reproduced with the raw `webgpu` API.
 * `--drop`: the object returned by create() is dropped after getting a device (as in
 * `const adapter = await create([]).requestAdapter()`); garbage collection then finalizes it
 * and tears down the Dawn instance under the live device. `--keep`: it is held, as
 * createNodeWebGpuBackend does. Measured here (SwiftShader, webgpu 0.6.2, Node 20):
 * --drop crashed 8 of 8 runs (futex / pthread_mutex_lock / std::system_error / SIGSEGV),
 * --keep passed 8 of 8.
 *
 *   node --expose-gc --import tsx packages/tensor/scripts/dawn-gc-repro.ts --drop
 */
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
const keep = !process.argv.includes('--drop');
let gpu: GPU | null = create([]);
const adapter = await gpu.requestAdapter();
if (!adapter) throw new Error('no adapter: set VK_ICD_FILENAMES (see README)');
const device = await adapter.requestDevice();
const held = keep ? gpu : null;
gpu = null;

const module = device.createShaderModule({
  code: `@group(0) @binding(0) var<storage, read_write> a: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3u) {
  if (g.x < arrayLength(&a)) { a[g.x] = a[g.x] * 2.0 + 1.0; }
}`,
});
const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
const n = 4096;
for (let i = 0; i < 300; i++) {
  const buf = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const readback = device.createBuffer({ size: n * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] });
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(n / 64);
  pass.end();
  encoder.copyBufferToBuffer(buf, 0, readback, 0, n * 4);
  device.queue.submit([encoder.finish()]);
  await readback.mapAsync(GPUMapMode.READ);
  const first = new Float32Array(readback.getMappedRange())[0];
  readback.unmap();
  if (first !== 1) throw new Error(`wrong result ${first}`);
  buf.destroy();
  readback.destroy();
  if (i % 20 === 0) (globalThis as { gc?: () => void }).gc?.();
}
console.log(`completed 300 dispatches with the GPU object ${keep ? 'held' : 'dropped'}`, held ? '' : '');
process.exit(0);
