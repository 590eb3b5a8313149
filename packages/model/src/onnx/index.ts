/** ONNX graphs of shards for serving (`@openshard/model/onnx`): apart from the root, so code that never serves does not bundle protobuf. */
export { causalMask, MASKED_SCORE } from './mask.ts';
export * from './io.ts';
export { shardGraph } from './shard-graph.ts';
export { ONNX_IR_VERSION, ONNX_OPSET, type GraphTensor, type OnnxDim, type OnnxDType } from './proto.ts';
