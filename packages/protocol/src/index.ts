export * from './version.ts';
export * from './limits.ts';
export * from './errors.ts';
export * from './tensor-frame.ts';
export * from './messages.ts';
export * from './parse.ts';
export { fromHalf, toHalf } from './fp16.ts';
export * from './dashboard.ts';
export * from './ownership.ts';
