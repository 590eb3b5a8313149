/** What a shard is and what tasks run on it. Imports nothing, so the wire protocol can use it alone (`@openshard/model/shard-spec`). */

/**
 * A contiguous pipeline stage: layers [firstLayer, endLayer). Shard 0 also holds the embeddings;
 * the last shard holds ln_f, the LM head and the loss.
 */
export interface ShardSpec {
  index: number;
  count: number;
  firstLayer: number;
  endLayer: number;
}

/**
 * What a task runs on its shard: the forward pass; the backward pass (recomputing the forward);
 * or, on the last shard, forward, loss and backward in one.
 */
export const TASK_KINDS = ['forward', 'backward', 'lossAndBackward'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

/** Layers [firstLayer, endLayer) as people count them: "0–3", or "4" for one layer. */
export function formatLayers(firstLayer: number, endLayer: number): string {
  const last = endLayer - 1;
  return last === firstLayer ? String(firstLayer) : `${firstLayer}–${last}`;
}

/** Layers [firstLayer, endLayer) in words: "layers 0–3", or "layer 4". */
export function describeLayers(firstLayer: number, endLayer: number): string {
  return `${endLayer - firstLayer === 1 ? 'layer' : 'layers'} ${formatLayers(firstLayer, endLayer)}`;
}

export function describeShard(s: ShardSpec): string {
  const parts = [describeLayers(s.firstLayer, s.endLayer)];
  if (s.index === 0) parts.unshift('embeddings');
  if (s.index === s.count - 1) parts.push('ln_f, head and loss');
  return `shard ${s.index} of ${s.count}: ${parts.join(', ')}`;
}
