import { describe, expect, test } from 'vitest';
import { CODEC_NAMES, CODECS, decodeTensor, encodeTensor, type Codec } from '../src/index.ts';

/**
 * Largest relative error of a round trip through each codec, for values in its normal range.
 * A new codec is one entry in CODECS and one line here (the Record makes the line required).
 */
const RELATIVE_TOLERANCE: Record<Codec, number> = {
  fp32: 0,
  // binary16 keeps 10 mantissa bits; rounding to nearest loses at most half an ulp
  fp16: 2 ** -11,
  i32: 0,
};

const SAMPLES = {
  f32: Float32Array.from([0, 1, -2, 0.1, -3.14159, 1e-3, 65504, 123.456, -7.25e-2]),
  i32: Int32Array.from([0, 1, -1, 255, 50257, 2 ** 30, -(2 ** 31), 2 ** 31 - 1]),
};

describe.each(CODEC_NAMES)('codec %s', (name) => {
  const codec = CODECS[name];
  const values = SAMPLES[codec.dtype];

  test('behavior: takes bytesPerElement bytes per value', () => {
    expect(codec.encode(values).byteLength).toBe(values.length * codec.bytesPerElement);
  });

  test('behavior: round-trips its dtype within its tolerance, from an unaligned attachment too', () => {
    const bytes = codec.encode(values);
    const unaligned = new Uint8Array(bytes.byteLength + 1).subarray(1);
    unaligned.set(bytes);
    const decoded = codec.decode(unaligned, values.length);
    expect(decoded).toBeInstanceOf(values.constructor);
    expect(decoded.length).toBe(values.length);
    values.forEach((v, i) => expect(Math.abs(decoded[i] - v)).toBeLessThanOrEqual(RELATIVE_TOLERANCE[name] * Math.abs(v)));
  });

  test('behavior: a tensor frame in this codec carries its dtype and refuses the other', () => {
    const t = { name: 'x', dtype: codec.dtype, shape: [values.length], data: values };
    const { header, bytes } = encodeTensor(t, name);
    expect(header).toEqual({ name: 'x', dtype: codec.dtype, shape: [values.length], codec: name });
    expect(decodeTensor(header, bytes, { finite: true }).data.length).toBe(values.length);
    const other = codec.dtype === 'f32' ? 'i32' : 'f32';
    expect(() => encodeTensor({ ...t, dtype: other }, name)).toThrow(`tensor 'x': codec ${name} cannot carry dtype ${other}`);
  });
});
