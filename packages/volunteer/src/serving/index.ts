export * from './stage.ts';
export * from './onnx-stage.ts';
export * from './serving-host.ts';
