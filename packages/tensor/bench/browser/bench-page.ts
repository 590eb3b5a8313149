import * as ort from 'onnxruntime-web/webgpu';
import { Random } from '../../src/random.ts';
import { WebGpuBackend } from '../../src/webgpu/backend.ts';
import { matmulBefore } from '../matmul-before.wgsl.ts';
import { matmulModel } from '../onnx-matmul.ts';
import { operandShapes, timeRepeated, type MatmulShape } from '../timing.ts';

export interface BrowserMatmulRow {
  shape: MatmulShape;
  implementation: 'openshard webgpu' | 'openshard webgpu before #17' | 'onnxruntime-web webgpu' | 'onnxruntime-web wasm';
  msPerRep: number;
  reps: number;
}

async function ours(gpu: WebGpuBackend, s: MatmulShape, minMs: number): Promise<BrowserMatmulRow> {
  const rng = new Random(1);
  const dims = operandShapes(s);
  const a = gpu.upload(rng.normals(s.M * s.K), dims.a);
  const b = gpu.upload(rng.normals(s.K * s.N), dims.b);
  const options = { transA: s.transA, transB: s.transB };
  const t = await timeRepeated(async (reps) => {
    for (let i = 0; i < reps; i++) gpu.matmul(a, b, options).dispose();
    await gpu.sync();
  }, minMs);
  a.dispose();
  b.dispose();
  return { shape: s, implementation: 'openshard webgpu', ...t };
}

/** The matmul kernel as it was before issue 17, on the same backend and inputs. */
async function oursBefore(gpu: WebGpuBackend, s: MatmulShape, minMs: number): Promise<BrowserMatmulRow> {
  const rng = new Random(1);
  const dims = operandShapes(s);
  const a = gpu.upload(rng.normals(s.M * s.K), dims.a);
  const b = gpu.upload(rng.normals(s.K * s.N), dims.b);
  const out = gpu.zeros([s.M, s.N]);
  const options = { transA: s.transA, transB: s.transB };
  const t = await timeRepeated(async (reps) => {
    for (let i = 0; i < reps; i++) matmulBefore(gpu, out, a, b, options);
    await gpu.sync();
  }, minMs);
  for (const x of [a, b, out]) x.dispose();
  return { shape: s, implementation: 'openshard webgpu before #17', ...t };
}

async function onnx(provider: 'webgpu' | 'wasm', s: MatmulShape, minMs: number): Promise<BrowserMatmulRow> {
  const rng = new Random(1);
  const dims = operandShapes(s);
  const session = await ort.InferenceSession.create(matmulModel(s.M, s.K, s.N, s.transA, s.transB), {
    executionProviders: [provider],
    preferredOutputLocation: provider === 'webgpu' ? 'gpu-buffer' : 'cpu',
  });
  let feeds: Record<string, ort.Tensor>;
  if (provider === 'webgpu') {
    // Inputs already on the GPU and outputs left there, as our matmul's are.
    const device = await ort.env.webgpu.device; // ORT's own device, on the same adapter
    const onGpu = (data: Float32Array, dims: number[]) => {
      const buffer = device.createBuffer({ size: data.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
      device.queue.writeBuffer(buffer, 0, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
      return ort.Tensor.fromGpuBuffer(buffer, { dataType: 'float32', dims });
    };
    feeds = { A: onGpu(rng.normals(s.M * s.K), dims.a), B: onGpu(rng.normals(s.K * s.N), dims.b) };
  } else {
    feeds = { A: new ort.Tensor('float32', rng.normals(s.M * s.K), dims.a), B: new ort.Tensor('float32', rng.normals(s.K * s.N), dims.b) };
  }
  const t = await timeRepeated(async (reps) => {
    let last: ort.Tensor | undefined;
    for (let i = 0; i < reps; i++) {
      last?.dispose();
      last = (await session.run(feeds)).Y;
    }
    await last!.getData(); // drain the queue before the clock stops
    last!.dispose();
  }, minMs);
  await session.release();
  return { shape: s, implementation: `onnxruntime-web ${provider}`, ...t };
}

const api = {
  async matmul(shapes: MatmulShape[], minMs: number) {
    ort.env.wasm.wasmPaths = `/@fs${(window as unknown as { ORT_DIST: string }).ORT_DIST}`;
    ort.env.wasm.numThreads = navigator.hardwareConcurrency;
    const gpu = await WebGpuBackend.create();
    const rows: BrowserMatmulRow[] = [];
    for (const s of shapes) {
      rows.push(await oursBefore(gpu, s, minMs));
      rows.push(await ours(gpu, s, minMs));
      rows.push(await onnx('webgpu', s, minMs));
      rows.push(await onnx('wasm', s, minMs));
    }
    const adapter = gpu.adapterSummary;
    gpu.destroy();
    return { adapter, crossOriginIsolated: self.crossOriginIsolated, threads: ort.env.wasm.numThreads, rows };
  },
};

/** What `benchApi.matmul` resolves to in the page. */
export type MatmulBenchResult = Awaited<ReturnType<(typeof api)['matmul']>>;

Object.assign(window, { benchApi: api });
document.getElementById('log')!.textContent = 'ready';
