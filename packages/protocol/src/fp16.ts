/** IEEE 754 binary16 ⇄ binary32, round to nearest even; for the fp16 wire codec. */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function toHalf(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf or NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → Inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow → ±0
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rest > mid || (rest === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++; // may carry into the exponent: still correct
  return sign | half;
}

export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** f32 values as little-endian binary16 bytes. */
export function encodeHalves(values: ArrayLike<number>): Uint8Array {
  const half = new Uint16Array(values.length);
  for (let i = 0; i < half.length; i++) half[i] = toHalf(values[i]);
  return new Uint8Array(half.buffer);
}

/** n f32 values from their binary16 bytes; `bytes` may be an unaligned view. */
export function decodeHalves(bytes: Uint8Array, n: number): Float32Array {
  const half = new Uint16Array(new Uint8Array(bytes).buffer, 0, n);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = fromHalf(half[i]);
  return values;
}
