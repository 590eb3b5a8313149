import { formatShape, type Shape } from './tensor.ts';

/** A tensor given to an op has the wrong shape, dtype or backend. Nothing was computed. */
export class TensorShapeError extends Error {
  override name = 'TensorShapeError';
  constructor(
    readonly op: string,
    message: string,
  ) {
    super(`${op}: ${message}`);
  }
}

/** A tensor would exceed a buffer limit the GPU adapter reports. */
export class BufferLimitError extends Error {
  override name = 'BufferLimitError';
  constructor(
    readonly op: string,
    readonly shape: Shape,
    readonly bytes: number,
    readonly limit: number,
    limitName: string,
  ) {
    super(`${op}: tensor ${formatShape(shape)} needs ${bytes} bytes, above this adapter's ` + `${limitName} of ${limit} bytes; use smaller micro-batches or more shards`);
  }
}

/** The GPU device was lost (driver reset, tab backgrounded too long, device.destroy()). */
export class DeviceLostError extends Error {
  override name = 'DeviceLostError';
  constructor(
    readonly op: string,
    readonly reason: string,
    detail: string,
  ) {
    super(`${op}: the WebGPU device was lost (${reason}: ${detail}); create a new backend and re-upload the shard weights`);
  }
}

/** WGSL failed to compile or the pipeline failed validation. */
export class ShaderCompileError extends Error {
  override name = 'ShaderCompileError';
  constructor(
    readonly op: string,
    readonly shapes: string,
    detail: string,
  ) {
    super(`${op} ${shapes}: WGSL pipeline failed to build: ${detail}`);
  }
}

/** A GPU command failed validation or ran out of memory after it was queued. */
export class GpuExecutionError extends Error {
  override name = 'GpuExecutionError';
  constructor(
    readonly op: string,
    readonly shapes: string,
    detail: string,
  ) {
    super(`${op} ${shapes}: GPU error: ${detail}`);
  }
}

/** No WebGPU adapter could be obtained. */
export class WebGpuUnavailableError extends Error {
  override name = 'WebGpuUnavailableError';
}
