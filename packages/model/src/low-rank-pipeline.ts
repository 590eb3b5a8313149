import type { MicroBatch } from '@openshard/data';
import type { Backend, Tensor } from '@openshard/tensor';
import type { BoundaryEmbeddings, LowRankBoundary } from './low-rank-boundary.ts';
import { POSITION_EMBEDDING, TOKEN_EMBEDDING } from './parameters.ts';
import type { MicroBatchResult } from './pipeline.ts';
import type { Shard } from './shard.ts';

/**
 * `runMicroBatch` for a model with a low-rank boundary: only z (B, T, k) and the token ids
 * cross a stage boundary forward, only dz (B, T, k) backward. Each stage rebuilds its input
 * from them; the gradients match the unsharded low-rank model's.
 *
 * In one process every stage reads the embeddings from shard 0's weights. A distributed
 * stage would need its own copy of E and P, refreshed after every step, and would send back
 * the embedding gradients its rebuilds produce (docs/boundary-compression.md).
 */
export async function runLowRankMicroBatch(shards: readonly Shard[], boundary: LowRankBoundary, batch: MicroBatch, lossScale?: number): Promise<MicroBatchResult> {
  const be = boundary.backend;
  const first = shards[0];
  const last = shards[shards.length - 1];
  const embeddings = embeddingsOf(first);
  /** What crossed into stage s (s ≥ 1): z, (B, T, k). */
  const sent: Tensor[] = [];
  const grads: Map<string, Tensor>[] = new Array(shards.length);
  const rebuilt: EmbeddingGradientSum = new Map();
  let ids: Tensor | undefined;
  let targets: Tensor | undefined;
  let ok = false;
  try {
    ids = first.tokens(batch.inputs, batch.B, batch.T);
    targets = last.tokens(batch.targets, batch.B, batch.T, 'targets');
    const input = (s: number) => (s === 0 ? ids! : boundary.decode(sent[s - 1], ids!, embeddings));
    for (let s = 0; s < shards.length - 1; s++) {
      const x = input(s);
      const y = shards[s].forward(x);
      if (s > 0) x.dispose();
      sent.push(boundary.encode(y, ids, embeddings));
      y.dispose();
    }
    const topInput = input(shards.length - 1);
    const top = await last.lossAndBackward(topInput, targets, { lossScale });
    if (shards.length > 1) topInput.dispose();
    grads[shards.length - 1] = top.grads;
    let g = top.dx;
    for (let s = shards.length - 2; s >= 0; s--) {
      addEmbeddingGradients(be, rebuilt, boundary.embeddingGradients(g!, ids));
      const dz = boundary.encodeGradient(g!);
      g!.dispose();
      const dy = boundary.decodeGradient(dz);
      dz.dispose();
      const x = input(s);
      try {
        const r = shards[s].backward(x, dy);
        g = r.dx;
        grads[s] = r.grads;
      } finally {
        dy.dispose();
        if (s > 0) x.dispose();
      }
    }
    g?.dispose();
    for (const [name, sum] of rebuilt) {
      be.accumulate(grads[0].get(name)!, sum);
      sum.dispose();
    }
    rebuilt.clear();
    ok = true;
    return { loss: top.loss, grads };
  } finally {
    for (const t of sent) t.dispose();
    for (const t of rebuilt.values()) t.dispose();
    ids?.dispose();
    targets?.dispose();
    if (!ok) for (const g of grads) if (g) for (const t of g.values()) t.dispose();
  }
}

/** `evaluateMicroBatch` for a model with a low-rank boundary: z and the token ids cross each boundary. */
export async function evaluateLowRankMicroBatch(shards: readonly Shard[], boundary: LowRankBoundary, batch: MicroBatch): Promise<number> {
  const first = shards[0];
  const last = shards[shards.length - 1];
  const embeddings = embeddingsOf(first);
  const ids = first.tokens(batch.inputs, batch.B, batch.T);
  let x = ids;
  let targets: Tensor | undefined;
  try {
    targets = last.tokens(batch.targets, batch.B, batch.T, 'targets');
    for (let s = 0; s < shards.length - 1; s++) {
      const y = shards[s].forward(x);
      if (x !== ids) x.dispose();
      const z = boundary.encode(y, ids, embeddings);
      y.dispose();
      x = boundary.decode(z, ids, embeddings);
      z.dispose();
    }
    return await last.loss(x, targets);
  } finally {
    if (x !== ids) x.dispose();
    ids.dispose();
    targets?.dispose();
  }
}

/** ∂L/∂E and ∂L/∂P from every stage's rebuild, summed by parameter name. */
type EmbeddingGradientSum = Map<string, Tensor>;

function addEmbeddingGradients(be: Backend, sum: EmbeddingGradientSum, g: { token: Tensor; position: Tensor }): void {
  for (const [name, t] of [
    [TOKEN_EMBEDDING, g.token],
    [POSITION_EMBEDDING, g.position],
  ] as const) {
    const held = sum.get(name);
    if (held) {
      be.accumulate(held, t);
      t.dispose();
    } else sum.set(name, t);
  }
}

function embeddingsOf(first: Shard): BoundaryEmbeddings {
  return { token: first.weights.get(TOKEN_EMBEDDING)!, position: first.weights.get(POSITION_EMBEDDING)! };
}
