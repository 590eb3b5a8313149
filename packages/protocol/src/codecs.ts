import type { DType, TensorData } from '@openshard/tensor/dtype';
import { decodeHalves, encodeHalves } from './fp16.ts';

/**
 * How a tensor's values travel as bytes, little-endian. A new codec (int8, …) is one entry in
 * CODECS and one tolerance in the round-trip test (packages/protocol/test/codecs.test.ts).
 */
export interface TensorCodec {
  /** Bytes one element takes on the wire. */
  bytesPerElement: number;
  /** The dtype whose values it carries. */
  dtype: DType;
  /** The values as bytes; may be a view of the values' own memory. */
  encode(values: TensorData): Uint8Array;
  /** n values from exactly n · bytesPerElement bytes, copied out: attachments may be unaligned views. */
  decode(bytes: Uint8Array, n: number): TensorData;
}

/** The bytes of a typed array, not copied. */
const view = (values: TensorData): Uint8Array => new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
/** An aligned copy of bytes that may start at any offset. */
const alignedCopy = (bytes: Uint8Array): ArrayBuffer => new Uint8Array(bytes).buffer;

export const CODECS = {
  /** Exact: training must match the single-process run bit for bit. */
  fp32: { bytesPerElement: 4, dtype: 'f32', encode: view, decode: (bytes, n) => new Float32Array(alignedCopy(bytes), 0, n) },
  /** Half the bytes of fp32, rounded to nearest even: for activations of runs that accept the rounding. */
  fp16: { bytesPerElement: 2, dtype: 'f32', encode: encodeHalves, decode: decodeHalves },
  /** Exact: token ids and targets. */
  i32: { bytesPerElement: 4, dtype: 'i32', encode: view, decode: (bytes, n) => new Int32Array(alignedCopy(bytes), 0, n) },
} satisfies Record<string, TensorCodec>;

export type Codec = keyof typeof CODECS;

/** Every codec's name, in table order (for schemas). */
export const CODEC_NAMES = Object.keys(CODECS) as [Codec, ...Codec[]];

/** The codec a dtype travels in unless the sender chooses another. */
export const DEFAULT_CODEC: Record<DType, Codec> = { f32: 'fp32', i32: 'i32' };
