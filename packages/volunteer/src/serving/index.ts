export * from './stage.ts';
export * from './onnx-stage.ts';
