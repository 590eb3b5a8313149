import type { DType, TensorData } from '@openshard/tensor/dtype';
import { CODECS, DEFAULT_CODEC, type Codec } from './codecs.ts';
import { ProtocolError } from './errors.ts';

/**
 * A tensor on the wire: a header in the message's JSON (name, dtype, shape, codec) and its
 * bytes as a binary attachment, little-endian, never a JSON array of numbers. The codec table
 * (codecs.ts) says how each codec turns values into bytes and back.
 */
export interface TensorHeader {
  name: string;
  dtype: DType;
  shape: number[];
  codec: Codec;
}

export interface WireTensor {
  name: string;
  dtype: DType;
  shape: number[];
  data: TensorData;
  /** How it is sent; its dtype's default codec when absent. */
  codec?: Codec;
}

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('OpenShard needs a little-endian host');

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function encodedBytes(h: Pick<TensorHeader, 'shape' | 'codec'>): number {
  return CODECS[h.codec].bytes(h.shape);
}

function expectCodecCarries(name: string, codec: Codec, dtype: DType): void {
  if (CODECS[codec].dtype !== dtype) throw new ProtocolError('bad-tensor', `tensor '${name}': codec ${codec} cannot carry dtype ${dtype}`);
}

export function encodeTensor(t: WireTensor, codec: Codec = t.codec ?? DEFAULT_CODEC[t.dtype]): { header: TensorHeader; bytes: Uint8Array } {
  expectCodecCarries(t.name, codec, t.dtype);
  if (elementCount(t.shape) !== t.data.length) throw new ProtocolError('bad-tensor', `tensor '${t.name}' has ${t.data.length} values for shape [${t.shape}]`);
  const header: TensorHeader = { name: t.name, dtype: t.dtype, shape: [...t.shape], codec };
  return { header, bytes: CODECS[codec].encode(t.data, t.shape) };
}

export interface DecodeOptions {
  /** Refuse NaN, ±Inf and values above `maxMagnitude` (every result a volunteer sends). */
  finite: boolean;
  /** With `finite`: the largest magnitude taken (ProtocolLimits.maxMagnitude). */
  maxMagnitude: number;
}

/** Checks the attachment against its header and copies it out (attachments may be unaligned views). */
export function decodeTensor(h: TensorHeader, bytes: Uint8Array, o: DecodeOptions): WireTensor {
  expectCodecCarries(h.name, h.codec, h.dtype);
  const expected = encodedBytes(h);
  if (bytes.byteLength !== expected) {
    throw new ProtocolError('bad-tensor', `tensor '${h.name}' has ${bytes.byteLength} bytes; ${h.codec} [${h.shape}] needs ${expected}`);
  }
  const data = CODECS[h.codec].decode(bytes, h.shape);
  if (o.finite && data instanceof Float32Array) {
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (v <= o.maxMagnitude && v >= -o.maxMagnitude) continue;
      if (!Number.isFinite(v)) throw new ProtocolError('non-finite', `tensor '${h.name}' holds ${v} at index ${i}`);
      throw new ProtocolError('too-large', `tensor '${h.name}' holds ${v} at index ${i}, above the limit of ${o.maxMagnitude} in magnitude`);
    }
  }
  return { name: h.name, dtype: h.dtype, shape: [...h.shape], data };
}
