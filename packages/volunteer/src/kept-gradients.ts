import { BOUNDARY_TENSORS, type Codec, type WireTensor } from '@openshard/protocol';

/** Which task's gradients: a round of a shard, on one weights version. */
export interface GradientKey {
  round: number;
  shard: number;
  version: number;
}

/**
 * Compact traffic on the volunteer: the parameter gradients of this round's backward tasks stay
 * here, by micro-batch, until the coordinator asks for the sum of some of them (`collect`). Only
 * the current round's are kept: a task of another round, shard or version forgets the rest.
 */
export class KeptGradients {
  private key: GradientKey | null = null;
  private readonly byMicroBatch = new Map<number, WireTensor[]>();

  /** Keeps the task's parameter gradients; returns what its result carries (y or dx). */
  keep(key: GradientKey, microBatch: number, tensors: readonly WireTensor[]): WireTensor[] {
    if (!this.key || this.key.round !== key.round || this.key.shard !== key.shard || this.key.version !== key.version) this.clear();
    this.key = key;
    this.byMicroBatch.set(
      microBatch,
      tensors.filter((t) => !BOUNDARY_TENSORS.includes(t.name)),
    );
    return tensors.filter((t) => BOUNDARY_TENSORS.includes(t.name));
  }

  /**
   * The sum of the micro-batches' gradients, added in ascending micro-batch order, each tensor
   * sent in `codec`; a string saying what is missing when they are not all kept.
   */
  sum(round: number, shard: number, microBatches: readonly number[], codec: Codec): WireTensor[] | string {
    if (!this.key || this.key.round !== round || this.key.shard !== shard) {
      return `gradients of round ${round}, shard ${shard} are not kept (kept: ${this.key ? `round ${this.key.round}, shard ${this.key.shard}` : 'none'})`;
    }
    const order = [...microBatches].sort((a, b) => a - b);
    const missing = order.filter((m) => !this.byMicroBatch.has(m));
    if (missing.length) return `gradients of micro-batches ${missing.join(', ')} of round ${round} are not kept`;
    const first = this.byMicroBatch.get(order[0])!;
    return first.map((t, i) => {
      const data = Float32Array.from(t.data as Float32Array);
      for (const m of order.slice(1)) {
        const other = this.byMicroBatch.get(m)![i].data as Float32Array;
        for (let j = 0; j < data.length; j++) data[j] += other[j];
      }
      return { name: t.name, dtype: 'f32', shape: [...t.shape], data, codec };
    });
  }

  clear(): void {
    this.key = null;
    this.byMicroBatch.clear();
  }
}
