import { ProtocolError } from './errors.ts';
import { fromHalf, toHalf } from './fp16.ts';

/**
 * A tensor on the wire: a header in the message's JSON (name, dtype, shape, codec) and its
 * bytes as a binary attachment, little-endian, never a JSON array of numbers.
 * fp32 is exact (training must match the single-process run bit for bit); fp16 halves the
 * bytes of activations for runs that accept the rounding.
 */
export type WireDType = 'f32' | 'i32';
export type Codec = 'fp32' | 'fp16' | 'i32';

export interface TensorHeader {
  name: string;
  dtype: WireDType;
  shape: number[];
  codec: Codec;
}

export interface WireTensor {
  name: string;
  dtype: WireDType;
  shape: number[];
  data: Float32Array | Int32Array;
}

const BYTES_PER_ELEMENT: Record<Codec, number> = { fp32: 4, fp16: 2, i32: 4 };
const CODECS_OF: Record<WireDType, Codec[]> = { f32: ['fp32', 'fp16'], i32: ['i32'] };

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('OpenShard needs a little-endian host');

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function encodedBytes(h: Pick<TensorHeader, 'shape' | 'codec'>): number {
  return elementCount(h.shape) * BYTES_PER_ELEMENT[h.codec];
}

export function encodeTensor(t: WireTensor, codec: Codec = t.dtype === 'f32' ? 'fp32' : 'i32'): { header: TensorHeader; bytes: Uint8Array } {
  if (!CODECS_OF[t.dtype].includes(codec)) throw new ProtocolError('bad-tensor', `tensor '${t.name}': codec ${codec} cannot carry dtype ${t.dtype}`);
  if (elementCount(t.shape) !== t.data.length) throw new ProtocolError('bad-tensor', `tensor '${t.name}' has ${t.data.length} values for shape [${t.shape}]`);
  const header: TensorHeader = { name: t.name, dtype: t.dtype, shape: [...t.shape], codec };
  if (codec === 'fp16') {
    const half = new Uint16Array(t.data.length);
    for (let i = 0; i < half.length; i++) half[i] = toHalf(t.data[i]);
    return { header, bytes: new Uint8Array(half.buffer) };
  }
  return { header, bytes: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) };
}

export interface DecodeOptions {
  /** Refuse NaN and ±Inf (every result a volunteer sends). */
  finite: boolean;
}

/** Checks the attachment against its header and copies it out (attachments may be unaligned views). */
export function decodeTensor(h: TensorHeader, bytes: Uint8Array, o: DecodeOptions): WireTensor {
  if (!CODECS_OF[h.dtype].includes(h.codec)) throw new ProtocolError('bad-tensor', `tensor '${h.name}': codec ${h.codec} cannot carry dtype ${h.dtype}`);
  const expected = encodedBytes(h);
  if (bytes.byteLength !== expected) {
    throw new ProtocolError('bad-tensor', `tensor '${h.name}' has ${bytes.byteLength} bytes; ${h.codec} [${h.shape}] needs ${expected}`);
  }
  const copy = new Uint8Array(bytes).buffer;
  let data: Float32Array | Int32Array;
  if (h.codec === 'fp16') {
    const half = new Uint16Array(copy);
    data = new Float32Array(half.length);
    for (let i = 0; i < half.length; i++) data[i] = fromHalf(half[i]);
  } else {
    data = h.dtype === 'f32' ? new Float32Array(copy) : new Int32Array(copy);
  }
  if (o.finite && data instanceof Float32Array) {
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) throw new ProtocolError('non-finite', `tensor '${h.name}' holds ${data[i]} at index ${i}`);
    }
  }
  return { name: h.name, dtype: h.dtype, shape: [...h.shape], data };
}
