import type { DType, TensorData } from '@openshard/tensor/dtype';
import { decodeHalves, encodeHalves } from './fp16.ts';
import { decodeRows, encodeRows, rowsBytes } from './q8.ts';

/**
 * How a tensor's values travel as bytes, little-endian. A new codec (int4, …) is one entry in
 * CODECS and one tolerance in the round-trip test (packages/protocol/test/codecs.test.ts).
 */
export interface TensorCodec {
  /** Bytes a tensor of this shape takes on the wire. */
  bytes(shape: readonly number[]): number;
  /** The dtype whose values it carries. */
  dtype: DType;
  /** The values as bytes; may be a view of the values' own memory. */
  encode(values: TensorData, shape: readonly number[]): Uint8Array;
  /** The values from exactly `bytes(shape)` bytes, copied out: attachments may be unaligned views. */
  decode(bytes: Uint8Array, shape: readonly number[]): TensorData;
}

/** The bytes of a typed array, not copied. */
const view = (values: TensorData): Uint8Array => new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
/** An aligned copy of bytes that may start at any offset. */
const alignedCopy = (bytes: Uint8Array): ArrayBuffer => new Uint8Array(bytes).buffer;
const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export const CODECS = {
  /** Exact: training must match the single-process run bit for bit. */
  fp32: { bytes: (s) => 4 * count(s), dtype: 'f32', encode: view, decode: (bytes, s) => new Float32Array(alignedCopy(bytes), 0, count(s)) },
  /** Half the bytes of fp32, rounded to nearest even: for activations of runs that accept the rounding. */
  fp16: { bytes: (s) => 2 * count(s), dtype: 'f32', encode: encodeHalves, decode: (bytes, s) => decodeHalves(bytes, count(s)) },
  /**
   * A quarter of fp32: each row (the last dimension) as int8 levels of one fp32 scale, its
   * largest magnitude / 127, rounded to nearest. Re-encoding decoded values gives the same bytes.
   * For compact traffic: boundary activations, their gradients, summed gradients, weight updates.
   */
  q8: { bytes: rowsBytes, dtype: 'f32', encode: encodeRows, decode: decodeRows },
  /** Exact: token ids and targets. */
  i32: { bytes: (s) => 4 * count(s), dtype: 'i32', encode: view, decode: (bytes, s) => new Int32Array(alignedCopy(bytes), 0, count(s)) },
} satisfies Record<string, TensorCodec>;

export type Codec = keyof typeof CODECS;

/** Every codec's name, in table order (for schemas). */
export const CODEC_NAMES = Object.keys(CODECS) as [Codec, ...Codec[]];

/** The codec a dtype travels in unless the sender chooses another. */
export const DEFAULT_CODEC: Record<DType, Codec> = { f32: 'fp32', i32: 'i32' };

/** The values a receiver decodes from `values` sent in `codec`: what both sides must compute with. */
export function roundTrip(values: Float32Array, shape: readonly number[], codec: Codec): Float32Array {
  if (codec === 'fp32') return values;
  return CODECS[codec].decode(CODECS[codec].encode(values, shape), shape) as Float32Array;
}
