import type { GptConfig } from '../config.ts';
import type { ShardSpec } from '../shard-spec.ts';
import type { GraphTensor } from './proto.ts';

/** Token ids, int64 [batch, sequence]: shard 0's input. */
export const INPUT_IDS = 'input_ids';
/** Each token's position in its sequence (past_sequence + t for the t-th new token), int64 [batch, sequence]: shard 0 only. */
export const POSITION_IDS = 'position_ids';
/** The residual stream coming from the previous shard, float32 [batch, sequence, C]: every shard but 0. */
export const HIDDEN_STATES = 'hidden_states';
/** Additive causal mask, float32 [sequence, total_sequence]: 0 where a query may attend, MASKED_SCORE where not (see `causalMask`). */
export const ATTENTION_MASK = 'attention_mask';
/** The residual stream after the shard's last block (before ln_f), float32 [batch, sequence, C]: the next shard's `hidden_states`. */
export const HIDDEN_STATES_OUT = 'hidden_states_out';
/** float32 [batch, sequence, V]: the last shard's output. */
export const LOGITS = 'logits';

/** The graph's symbolic dimensions: sequence counts the new positions; total_sequence = past_sequence + sequence. */
export const GRAPH_DIMS = { batch: 'batch', sequence: 'sequence', pastSequence: 'past_sequence', totalSequence: 'total_sequence' } as const;
const { batch: BATCH, sequence: SEQUENCE, pastSequence: PAST_SEQUENCE, totalSequence: TOTAL_SEQUENCE } = GRAPH_DIMS;

/** The cache of layer `layer` (global index, as Hugging Face numbers layers) fed back in: [batch, heads, past_sequence, headDim]. */
export function pastKeyName(layer: number): string {
  return `past_key_values.${layer}.key`;
}

export function pastValueName(layer: number): string {
  return `past_key_values.${layer}.value`;
}

/** The cache after this step: [batch, heads, total_sequence, headDim]; next step's past. */
export function presentKeyName(layer: number): string {
  return `present.${layer}.key`;
}

export function presentValueName(layer: number): string {
  return `present.${layer}.value`;
}

/** What a shard's graph takes and gives, in the graph's order. */
export interface ShardGraphIo {
  inputs: GraphTensor[];
  outputs: GraphTensor[];
}

/** The inputs and outputs of `shardGraph(config, spec, …)`, so serving code builds feeds and reads results by name. */
export function shardGraphIo(config: GptConfig, spec: ShardSpec): ShardGraphIo {
  const C = config.width;
  const cache = [BATCH, config.heads, PAST_SEQUENCE, C / config.heads];
  const present = [BATCH, config.heads, TOTAL_SEQUENCE, C / config.heads];
  const inputs: GraphTensor[] =
    spec.index === 0
      ? [
          { name: INPUT_IDS, dtype: 'int64', shape: [BATCH, SEQUENCE] },
          { name: POSITION_IDS, dtype: 'int64', shape: [BATCH, SEQUENCE] },
        ]
      : [{ name: HIDDEN_STATES, dtype: 'float32', shape: [BATCH, SEQUENCE, C] }];
  inputs.push({ name: ATTENTION_MASK, dtype: 'float32', shape: [SEQUENCE, TOTAL_SEQUENCE] });
  const last = spec.index === spec.count - 1;
  const outputs: GraphTensor[] = [last ? { name: LOGITS, dtype: 'float32', shape: [BATCH, SEQUENCE, config.vocabSize] } : { name: HIDDEN_STATES_OUT, dtype: 'float32', shape: [BATCH, SEQUENCE, C] }];
  for (let layer = spec.firstLayer; layer < spec.endLayer; layer++) {
    inputs.push({ name: pastKeyName(layer), dtype: 'float32', shape: cache }, { name: pastValueName(layer), dtype: 'float32', shape: cache });
    outputs.push({ name: presentKeyName(layer), dtype: 'float32', shape: present }, { name: presentValueName(layer), dtype: 'float32', shape: present });
  }
  return { inputs, outputs };
}
