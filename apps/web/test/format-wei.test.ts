import { describe, expect, test } from 'vitest';
import { ETH_DISPLAY_DECIMALS, formatEth, parseWei, WEI_PER_ETHER } from '../src/earnings/format-wei.ts';

describe('formatEth', () => {
  test('behavior: shows six decimals by default', () => {
    expect(ETH_DISPLAY_DECIMALS).toBe(6);
    expect(formatEth('0')).toBe('0.000000');
    expect(formatEth(WEI_PER_ETHER)).toBe('1.000000');
    expect(formatEth('1500000000000000000')).toBe('1.500000');
  });

  test('behavior: rounds toward zero, never up to more than can be claimed', () => {
    expect(formatEth('1234567890000000000')).toBe('1.234567');
    expect(formatEth('999999999999999999')).toBe('0.999999');
    expect(formatEth('999999999999')).toBe('0.000000');
    expect(formatEth('1000000000000')).toBe('0.000001');
  });

  test('behavior: exact for amounts beyond 2^53 wei', () => {
    expect(formatEth('123456789012345678901234567890')).toBe('123456789012.345678');
  });

  test('behavior: other decimals and negative amounts', () => {
    expect(formatEth('1234567890000000000', 0)).toBe('1');
    expect(formatEth('1234567890000000000', 18)).toBe('1.234567890000000000');
    expect(formatEth(-1_500_000_000_000_000_000n, 2)).toBe('-1.50');
    expect(() => formatEth('1', 19)).toThrow(/decimals 19/);
  });
});

describe('parseWei', () => {
  test('behavior: accepts decimal strings and bigints, rejects anything else naming the value', () => {
    expect(parseWei('42')).toBe(42n);
    expect(parseWei(7n)).toBe(7n);
    expect(() => parseWei('1.5')).toThrow(/'1.5' is not a decimal integer of wei/);
    expect(() => parseWei('0x10')).toThrow(/not a decimal integer/);
    expect(() => parseWei('')).toThrow(/not a decimal integer/);
  });
});
