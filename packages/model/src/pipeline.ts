import type { MicroBatch } from '@openshard/data';
import type { Tensor } from '@openshard/tensor';
import { ShardInputError } from './errors.ts';
import type { LowRankBoundary } from './low-rank-boundary.ts';
import { evaluateLowRankMicroBatch, runLowRankMicroBatch } from './low-rank-pipeline.ts';
import type { Shard } from './shard.ts';

export interface MicroBatchResult {
  loss: number;
  /** Per shard, every parameter's gradient; the caller owns and disposes them. */
  grads: Map<string, Tensor>[];
}

/**
 * One micro-batch through a pipeline of shards in one process, the way the coordinator runs
 * it across volunteers: F(0) … F(S−2), lossAndBackward on the last shard, then B(S−2) … B(0),
 * each backward recomputing its forward from the stored boundary activation. Shards with a
 * low-rank boundary send z and dz across it instead (`runLowRankMicroBatch`).
 */
export async function runMicroBatch(shards: readonly Shard[], batch: MicroBatch, lossScale?: number): Promise<MicroBatchResult> {
  const boundary = sharedBoundary(shards);
  if (boundary) return runLowRankMicroBatch(shards, boundary, batch, lossScale);
  const first = shards[0];
  const last = shards[shards.length - 1];
  const boundaries: Tensor[] = [];
  let targets: Tensor | undefined;
  const grads: Map<string, Tensor>[] = new Array(shards.length);
  let ok = false;
  try {
    boundaries.push(first.tokens(batch.inputs, batch.B, batch.T));
    targets = last.tokens(batch.targets, batch.B, batch.T, 'targets');
    for (let s = 0; s < shards.length - 1; s++) boundaries.push(shards[s].forward(boundaries[s]));
    const top = await last.lossAndBackward(boundaries[shards.length - 1], targets, { lossScale });
    grads[shards.length - 1] = top.grads;
    let dy = top.dx;
    for (let s = shards.length - 2; s >= 0; s--) {
      const r = shards[s].backward(boundaries[s], dy!);
      dy!.dispose();
      dy = r.dx;
      grads[s] = r.grads;
    }
    dy?.dispose();
    ok = true;
    return { loss: top.loss, grads };
  } finally {
    for (const t of boundaries) t.dispose();
    targets?.dispose();
    if (!ok) for (const g of grads) if (g) for (const t of g.values()) t.dispose();
  }
}

/** Mean validation loss of one micro-batch, forward only. */
export async function evaluateMicroBatch(shards: readonly Shard[], batch: MicroBatch): Promise<number> {
  const boundary = sharedBoundary(shards);
  if (boundary) return evaluateLowRankMicroBatch(shards, boundary, batch);
  const last = shards[shards.length - 1];
  let x = shards[0].tokens(batch.inputs, batch.B, batch.T);
  let targets: Tensor | undefined;
  try {
    targets = last.tokens(batch.targets, batch.B, batch.T, 'targets');
    for (let s = 0; s < shards.length - 1; s++) {
      const y = shards[s].forward(x);
      x.dispose();
      x = y;
    }
    return await last.loss(x, targets);
  } finally {
    x.dispose();
    targets?.dispose();
  }
}

/** The low-rank boundary of a pipeline, or undefined for a dense one; every shard must agree. */
function sharedBoundary(shards: readonly Shard[]): LowRankBoundary | undefined {
  const boundary = shards[0].boundary;
  const other = shards.find((s) => s.boundary !== boundary);
  if (other) {
    const describe = (b?: LowRankBoundary) => (b ? `a rank-${b.rank} boundary` : 'no boundary');
    throw new ShardInputError(
      `shard 0 has ${describe(boundary)} but shard ${other.spec.index} ${other.boundary === undefined ? 'has no boundary' : `has ${describe(other.boundary)} of its own`}: every shard of a pipeline must share one LowRankBoundary`,
    );
  }
  return boundary;
}
