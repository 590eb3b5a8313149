/**
 * Element types a tensor can hold, and the arrays that hold their values. Token ids and targets
 * are i32; everything else is f32. Imports nothing, so the wire protocol can use it alone
 * (`@openshard/tensor/dtype`).
 */
export const DTYPES = ['f32', 'i32'] as const;
export type DType = (typeof DTYPES)[number];
export type TensorData = Float32Array | Int32Array;
