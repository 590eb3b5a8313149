import { describe, expect, test } from 'vitest';
import { CODEC_NAMES, CODECS, DEFAULT_LIMITS, decodeTensor, encodeTensor, type Codec } from '../src/index.ts';

const CHECKED = { finite: true, maxMagnitude: DEFAULT_LIMITS.maxMagnitude };

/**
 * Largest error of a round trip through each codec, for a value v in its normal range whose row
 * (the last dimension) has largest magnitude m. A new codec is one entry in CODECS and one line
 * here (the Record makes the line required).
 */
const TOLERANCE: Record<Codec, (v: number, m: number) => number> = {
  fp32: () => 0,
  // binary16 keeps 10 mantissa bits; rounding to nearest loses at most half an ulp
  fp16: (v) => 2 ** -11 * Math.abs(v),
  // 127 levels each side of zero per row: half a level, m / 254 (and fp32's own rounding)
  q8: (_, m) => (m / 254) * (1 + 1e-6),
  i32: () => 0,
};

const SAMPLES = {
  f32: Float32Array.from([0, 1, -2, 0.1, -3.14159, 1e-3, 65504, 123.456, -7.25e-2]),
  i32: Int32Array.from([0, 1, -1, 255, 50257, 2 ** 30, -(2 ** 31), 2 ** 31 - 1]),
};

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('codec q8', () => {
  test("behavior: each row has its own scale, a row of zeros stays zeros, and a row's largest value is exact", () => {
    const values = Float32Array.from([1000, -1, 0.5, 0, 0, 0, 0.001, -0.002, 0.0005]);
    const decoded = CODECS.q8.decode(CODECS.q8.encode(values, [3, 3]), [3, 3]);
    expect(decoded[0]).toBe(1000);
    expect(Array.from(decoded.slice(3, 6))).toEqual([0, 0, 0]);
    expect(decoded[7]).toBe(Math.fround(-0.002));
    // the small row keeps its precision: its scale is its own
    expect(Math.abs(decoded[6] - 0.001)).toBeLessThanOrEqual((0.002 / 254) * (1 + 1e-5));
    // one byte per value plus one fp32 per row
    expect(CODECS.q8.bytes([3, 3])).toBe(9 + 12);
  });

  test('error: only what the encoder can produce is decoded: a forged largest magnitude or levels that never reach ±127 are refused', () => {
    const forge = (top: number, levels: number[]) => {
      const bytes = new Uint8Array(4 + levels.length);
      new DataView(bytes.buffer).setFloat32(0, top, true);
      bytes.set(
        Int8Array.from(levels).map((x) => x & 0xff),
        4,
      );
      return bytes;
    };
    const header = { name: 'dx', dtype: 'f32' as const, shape: [1, 3], codec: 'q8' as const };
    expect(decodeTensor(header, forge(2, [127, -3, 0]), CHECKED).data).toEqual(Float32Array.from([2, -6 / 127, 0]));
    expect(() => decodeTensor(header, forge(-2, [127, 1, 0]), CHECKED)).toThrow('q8 row 0 has largest magnitude -2 and largest level 127');
    expect(() => decodeTensor(header, forge(Number.NaN, [127, 1, 0]), CHECKED)).toThrow('largest magnitude NaN');
    // a NaN anywhere in a row is encoded as the row's largest magnitude: refused by the receiver, never sent as a level 0
    const nan = CODECS.q8.encode(Float32Array.from([0.5, Number.NaN, -1]), [1, 3]);
    expect(() => decodeTensor(header, nan, CHECKED)).toThrow('largest magnitude NaN');
    expect(() => decodeTensor(header, forge(3e38, [5, 1, 0]), CHECKED)).toThrow('largest level 5');
    expect(() => decodeTensor(header, forge(0, [0, 1, 0]), CHECKED)).toThrow('largest magnitude 0 and largest level 1');
    // canonical, finite, and too large: a row's scale is a value like any other
    expect(() => decodeTensor(header, forge(3e38, [127, 1, 0]), CHECKED)).toThrow(`tensor 'dx' holds 3.0000000054977558e+38 at index 0, above the limit of 1000000000 in magnitude`);
  });
});

describe.each(CODEC_NAMES)('codec %s', (name) => {
  const codec = CODECS[name];
  const values = SAMPLES[codec.dtype];
  const shape = [values.length];
  const largest = Math.max(...Array.from(values, Math.abs));

  test('behavior: takes bytes(shape) bytes', () => {
    expect(codec.encode(values, shape).byteLength).toBe(codec.bytes(shape));
  });

  test('behavior: round-trips its dtype within its tolerance, from an unaligned attachment too', () => {
    const bytes = codec.encode(values, shape);
    const unaligned = new Uint8Array(bytes.byteLength + 1).subarray(1);
    unaligned.set(bytes);
    const decoded = codec.decode(unaligned, shape);
    expect(decoded).toBeInstanceOf(values.constructor);
    expect(decoded.length).toBe(values.length);
    values.forEach((v, i) => expect(Math.abs(decoded[i] - v)).toBeLessThanOrEqual(TOLERANCE[name](v, largest)));
  });

  test('behavior: re-encoding what it decoded gives the same bytes (a relay adds no error)', () => {
    const rng = mulberry32(7);
    const rows = Float32Array.from({ length: 6 * 33 }, () => (rng() - 0.5) * 10 ** Math.floor(rng() * 6 - 3));
    const data = codec.dtype === 'f32' ? rows : Int32Array.from(rows, (x) => Math.round(x * 1000));
    const once = codec.encode(data, [6, 33]);
    expect(codec.encode(codec.decode(once, [6, 33]), [6, 33])).toEqual(once);
  });

  test('behavior: a tensor frame in this codec carries its dtype and refuses the other', () => {
    const t = { name: 'x', dtype: codec.dtype, shape: [values.length], data: values };
    const { header, bytes } = encodeTensor(t, name);
    expect(header).toEqual({ name: 'x', dtype: codec.dtype, shape: [values.length], codec: name });
    expect(decodeTensor(header, bytes, CHECKED).data.length).toBe(values.length);
    const other = codec.dtype === 'f32' ? 'i32' : 'f32';
    expect(() => encodeTensor({ ...t, dtype: other }, name)).toThrow(`tensor 'x': codec ${name} cannot carry dtype ${other}`);
  });
});
