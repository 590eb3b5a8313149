import { DeviceLostError, GpuExecutionError, ShaderCompileError } from '../errors.ts';
import { BufferPool, type BufferPoolStats } from './buffer-pool.ts';
import type { Kernel } from './kernel.ts';

/** Bytes of one dispatch's uniform parameters; also WebGPU's minUniformBufferOffsetAlignment. */
export const UNIFORM_SLOT_BYTES = 256;
/** Dispatches recorded before the command encoder is submitted. */
export const DISPATCHES_PER_SUBMIT = 1024;

export interface Binding {
  buffer: GPUBuffer;
  bytes: number;
}

interface CompiledKernel {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

/**
 * The device-facing half of the WebGPU backend: records dispatches into one command encoder,
 * gives each its parameters from a uniform arena written once per submit, and turns device
 * errors into typed errors that name the op and its shapes.
 */
export class GpuRuntime {
  readonly storage: BufferPool;
  private readonly readback: BufferPool;
  private readonly uniformBuffer: GPUBuffer;
  private readonly arena = new ArrayBuffer(UNIFORM_SLOT_BYTES * DISPATCHES_PER_SUBMIT);
  private readonly arenaU32 = new Uint32Array(this.arena);
  private readonly arenaF32 = new Float32Array(this.arena);
  private readonly kernels = new Map<Kernel, CompiledKernel>();
  private encoder: GPUCommandEncoder | null = null;
  private dispatches = 0;
  private batchLabels: string[] = [];
  /** Error checks in submission order; the first failure is reported by the next read or sync. */
  private checks: Promise<Error | null>[] = [];
  private pendingError: Error | null = null;
  private lostInfo: { reason: string; message: string } | null = null;

  constructor(readonly device: GPUDevice) {
    this.storage = new BufferPool(device, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST);
    this.readback = new BufferPool(device, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    this.uniformBuffer = device.createBuffer({
      size: this.arena.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      label: 'uniform arena',
    });
    device.onuncapturederror = (event) => {
      this.pendingError ??= new GpuExecutionError('device', '', event.error.message);
    };
    void device.lost.then((info) => {
      this.lostInfo = { reason: info.reason ?? 'unknown', message: info.message };
    });
  }

  get lost(): boolean {
    return this.lostInfo !== null;
  }

  stats(): BufferPoolStats {
    return this.storage.snapshot();
  }

  /** Throws if the device is gone; every op calls this before recording anything. */
  ensureAlive(op: string): void {
    if (this.lostInfo) throw new DeviceLostError(op, this.lostInfo.reason, this.lostInfo.message);
  }

  dispatch(kernel: Kernel, label: string, bindings: readonly Binding[], params: readonly number[], workgroups: readonly [number, number, number]): void {
    this.ensureAlive(kernel.name);
    if (params.length !== kernel.params.length || bindings.length !== kernel.bindings.length) {
      throw new Error(`${label}: kernel '${kernel.name}' takes ${kernel.params.length} params and ${kernel.bindings.length} buffers`);
    }
    const compiled = this.compile(kernel, label);
    if (this.dispatches === DISPATCHES_PER_SUBMIT) this.flush();
    if (!this.encoder) this.begin();
    const slot = this.dispatches++;
    const base = (slot * UNIFORM_SLOT_BYTES) / 4;
    kernel.params.forEach(([, type], i) => {
      if (type === 'u32') this.arenaU32[base + i] = params[i];
      else this.arenaF32[base + i] = params[i];
    });
    const bindGroup = this.device.createBindGroup({
      layout: compiled.layout,
      label,
      entries: [
        { binding: 0, resource: { buffer: this.uniformBuffer, offset: slot * UNIFORM_SLOT_BYTES, size: UNIFORM_SLOT_BYTES } },
        ...bindings.map((b, i) => ({ binding: i + 1, resource: { buffer: b.buffer, offset: 0, size: b.bytes } })),
      ],
    });
    const pass = this.encoder!.beginComputePass({ label });
    pass.setPipeline(compiled.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(workgroups[0], workgroups[1], workgroups[2]);
    pass.end();
    this.batchLabels.push(label);
  }

  /** Zeroes a buffer, in order with the dispatches around it. */
  clear(binding: Binding): void {
    if (!this.encoder) this.begin();
    this.encoder!.clearBuffer(binding.buffer, 0, binding.bytes);
  }

  /** Writes host data into a buffer. Queued work is submitted first so it sees the old contents. */
  write(buffer: GPUBuffer, data: ArrayBufferView): void {
    this.flush();
    this.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Submits what has been recorded. Cheap when nothing is pending. */
  flush(): void {
    if (!this.encoder) return;
    this.device.queue.writeBuffer(this.uniformBuffer, 0, this.arena, 0, this.dispatches * UNIFORM_SLOT_BYTES);
    this.device.queue.submit([this.encoder.finish()]);
    const labels = this.batchLabels;
    const validation = this.device.popErrorScope();
    const memory = this.device.popErrorScope();
    this.checks.push(
      Promise.all([validation, memory]).then(([v, m]) => {
        const e = v ?? m;
        if (!e) return null;
        const op = labels.find((l) => e.message.includes(l)) ?? `one of ${labels.length} ops (${labels.slice(0, 3).join('; ')}…)`;
        return new GpuExecutionError(op, '', e.message);
      }),
    );
    this.encoder = null;
    this.dispatches = 0;
    this.batchLabels = [];
  }

  async readBytes(op: string, binding: Binding): Promise<ArrayBuffer> {
    this.ensureAlive(op);
    this.flush();
    const staging = this.readback.acquire(binding.bytes, 'readback');
    const encoder = this.device.createCommandEncoder({ label: op });
    encoder.copyBufferToBuffer(binding.buffer, 0, staging, 0, binding.bytes);
    this.device.queue.submit([encoder.finish()]);
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, binding.bytes);
    } catch (e) {
      this.readback.discard(staging); // its state is unknown; never hand it out again
      this.ensureAlive(op);
      throw new GpuExecutionError(op, '', `mapping the readback buffer failed: ${(e as Error).message}`);
    }
    const bytes = staging.getMappedRange(0, binding.bytes).slice(0);
    staging.unmap();
    this.readback.release(staging);
    await this.throwPendingError(op);
    return bytes;
  }

  async sync(op = 'sync'): Promise<void> {
    this.ensureAlive(op);
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    await this.throwPendingError(op);
  }

  destroy(): void {
    this.encoder = null;
    this.storage.destroy();
    this.readback.destroy();
    this.uniformBuffer.destroy();
    this.device.destroy();
  }

  private begin(): void {
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    this.encoder = this.device.createCommandEncoder();
  }

  private async throwPendingError(op: string): Promise<void> {
    const checks = this.checks;
    this.checks = [];
    for (const e of await Promise.all(checks)) this.pendingError ??= e;
    this.ensureAlive(op);
    const e = this.pendingError;
    this.pendingError = null;
    if (e) throw e;
  }

  private compile(kernel: Kernel, label: string): CompiledKernel {
    const cached = this.kernels.get(kernel);
    if (cached) return cached;
    const d = this.device;
    d.pushErrorScope('validation');
    const module = d.createShaderModule({ code: kernel.source, label: kernel.name });
    const layout = d.createBindGroupLayout({
      label: kernel.name,
      entries: [
        { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } },
        ...kernel.bindings.map((b, i) => ({
          binding: i + 1,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: b.access === 'read' ? ('read-only-storage' as const) : ('storage' as const) },
        })),
      ],
    });
    const pipeline = d.createComputePipeline({
      label: kernel.name,
      layout: d.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main' },
    });
    const compiled = { pipeline, layout };
    this.kernels.set(kernel, compiled);
    this.checks.push(
      d.popErrorScope().then(async (error) => {
        if (!error) return null;
        this.kernels.delete(kernel);
        const info = await module.getCompilationInfo();
        const lines = info.messages.map((m) => `${m.type} at ${m.lineNum}:${m.linePos}: ${m.message}`);
        return new ShaderCompileError(kernel.name, label.slice(kernel.name.length).trim(), lines.join('; ') || error.message);
      }),
    );
    return compiled;
  }
}
