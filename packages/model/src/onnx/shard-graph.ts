import { validateConfig, type GptConfig } from '../config.ts';
import { ConfigError, ShardInputError } from '../errors.ts';
import { blockNames, FINAL_NORM_BIAS, FINAL_NORM_WEIGHT, LM_HEAD, POSITION_EMBEDDING, TOKEN_EMBEDDING, type ParameterSpec } from '../parameters.ts';
import { shardParameterSpecs } from '../partition.ts';
import { describeShard, type ShardSpec } from '../shard-spec.ts';
import { blockConstants, blockGraph, layerNorm } from './block-graph.ts';
import { ATTENTION_MASK, HIDDEN_STATES, HIDDEN_STATES_OUT, INPUT_IDS, LOGITS, pastKeyName, pastValueName, POSITION_IDS, presentKeyName, presentValueName, shardGraphIo } from './io.ts';
import { GraphBuilder } from './proto.ts';

/**
 * The ONNX model (opset 17, IR 8) of one shard's forward pass with a KV cache, as serialized
 * ModelProto bytes. Weights are initializers under their Hugging Face names; inputs and outputs
 * are those of `shardGraphIo(config, spec)`. For T new tokens after P cached ones it computes what
 * `Shard.forward` computes for the last T rows of the whole P + T prefix.
 */
export function shardGraph(config: GptConfig, spec: ShardSpec, values: (p: ParameterSpec) => Float32Array): Uint8Array {
  validateConfig(config);
  const { index, count, firstLayer, endLayer } = spec;
  if (!(index >= 0 && index < count && firstLayer >= 0 && firstLayer < endLayer && endLayer <= config.layers)) {
    throw new ConfigError(`shard ${index} of ${count} with layers [${firstLayer}, ${endLayer}) does not fit a model of ${config.layers} layers`);
  }
  const g = new GraphBuilder();
  addWeights(g, config, spec, values);
  const k = blockConstants(g, config);
  let x = spec.index === 0 ? embeddings(g) : HIDDEN_STATES;
  for (let layer = spec.firstLayer; layer < spec.endLayer; layer++) {
    const inputs = { x, pastKey: pastKeyName(layer), pastValue: pastValueName(layer), mask: ATTENTION_MASK };
    const block = blockGraph(g, k, blockNames(layer), inputs, `transformer.h.${layer}`);
    g.output(block.presentKey, presentKeyName(layer));
    g.output(block.presentValue, presentValueName(layer));
    x = block.y;
  }
  if (spec.index === spec.count - 1) g.output(head(g, x), LOGITS);
  else g.output(x, HIDDEN_STATES_OUT);
  const io = shardGraphIo(config, spec);
  return g.encode(`openshard ${describeShard(spec)}`, io.inputs, io.outputs);
}

function addWeights(g: GraphBuilder, config: GptConfig, spec: ShardSpec, values: (p: ParameterSpec) => Float32Array): void {
  for (const p of shardParameterSpecs(config, spec)) {
    const v = values(p);
    const n = p.shape.reduce((a, b) => a * b, 1);
    if (v.length !== n) throw new ShardInputError(`parameter '${p.name}' has ${v.length} values, expected ${n} for shape [${p.shape.join(',')}] in ${describeShard(spec)}`);
    g.float32(p.name, p.shape, v);
  }
}

// token + position embedding, [B, T, C]
function embeddings(g: GraphBuilder): string {
  const tok = g.node('Gather', [TOKEN_EMBEDDING, INPUT_IDS], { axis: 0 }, 'transformer.wte');
  const pos = g.node('Gather', [POSITION_EMBEDDING, POSITION_IDS], { axis: 0 }, 'transformer.wpe');
  return g.node('Add', [tok, pos], {}, 'transformer');
}

// ln_f, then lm_head ([V, C], nn.Linear layout): [B, T, C] → [B, T, V]
function head(g: GraphBuilder, x: string): string {
  const ln = layerNorm(g, x, FINAL_NORM_WEIGHT, FINAL_NORM_BIAS, 'transformer.ln_f');
  const weightT = g.node('Transpose', [LM_HEAD], { perm: [1, 0] }, 'lm_head');
  return g.node('MatMul', [ln, weightT], {}, 'lm_head');
}
