/**
 * Reuses GPU buffers by size class so a training loop that allocates the same shapes every
 * step stops allocating after its first step. Size classes round up by at most 25%.
 */
export const MIN_BUFFER_BYTES = 256;
/** Free buffers kept for reuse beyond this are destroyed. */
export const DEFAULT_POOL_RETAIN_BYTES = 512 * 1024 * 1024;

export function sizeClass(bytes: number): number {
  if (bytes <= 4 * MIN_BUFFER_BYTES) return Math.max(MIN_BUFFER_BYTES, Math.ceil(bytes / MIN_BUFFER_BYTES) * MIN_BUFFER_BYTES);
  const step = 2 ** Math.floor(Math.log2(bytes)) / 4;
  return Math.ceil(bytes / step) * step;
}

export interface BufferPoolStats {
  /** Buffers handed out and not yet released. */
  live: number;
  /** Buffers waiting for reuse. */
  free: number;
  /** Bytes of every buffer the pool currently owns, live or free. */
  bytes: number;
  /** Buffers ever created; flat across steps once the loop is warm. */
  created: number;
}

export class BufferPool {
  private readonly freeBySize = new Map<number, GPUBuffer[]>();
  private freeBytes = 0;
  private stats: BufferPoolStats = { live: 0, free: 0, bytes: 0, created: 0 };

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: GPUBufferUsageFlags,
    private readonly retainBytes = DEFAULT_POOL_RETAIN_BYTES,
  ) {}

  acquire(bytes: number, label: string): GPUBuffer {
    const size = sizeClass(bytes);
    const list = this.freeBySize.get(size);
    const reused = list?.pop();
    this.stats.live += 1;
    if (reused) {
      this.freeBytes -= size;
      this.stats.free -= 1;
      return reused;
    }
    this.stats.created += 1;
    this.stats.bytes += size;
    return this.device.createBuffer({ size, usage: this.usage, label });
  }

  release(buffer: GPUBuffer): void {
    this.stats.live -= 1;
    if (this.freeBytes + buffer.size > this.retainBytes) {
      this.stats.bytes -= buffer.size;
      buffer.destroy();
      return;
    }
    const list = this.freeBySize.get(buffer.size) ?? [];
    list.push(buffer);
    this.freeBySize.set(buffer.size, list);
    this.freeBytes += buffer.size;
    this.stats.free += 1;
  }

  /** Destroys a buffer handed out by acquire instead of keeping it for reuse. */
  discard(buffer: GPUBuffer): void {
    this.stats.live -= 1;
    this.stats.bytes -= buffer.size;
    buffer.destroy();
  }

  snapshot(): BufferPoolStats {
    return { ...this.stats };
  }

  destroy(): void {
    for (const list of this.freeBySize.values()) for (const b of list) b.destroy();
    this.freeBySize.clear();
    this.stats = { live: 0, free: 0, bytes: 0, created: this.stats.created };
  }
}
