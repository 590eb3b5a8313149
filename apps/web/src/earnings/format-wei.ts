/** Wei in one ether. */
export const WEI_PER_ETHER = 10n ** 18n;
/** Decimals shown for ETH amounts on the Earnings page. */
export const ETH_DISPLAY_DECIMALS = 6;

/** An amount from the coordinator (a decimal string of wei) as a bigint; throws naming the value. */
export function parseWei(wei: string | bigint): bigint {
  if (typeof wei === 'bigint') return wei;
  if (!/^-?\d+$/.test(wei)) throw new Error(`amount '${wei.slice(0, 80)}' is not a decimal integer of wei`);
  return BigInt(wei);
}

/**
 * Wei as ETH with a fixed number of decimals, rounded toward zero so the page never shows more
 * than can be claimed: formatEth('1234567890000000000') → '1.234567'.
 */
export function formatEth(wei: string | bigint, decimals = ETH_DISPLAY_DECIMALS): string {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 18) throw new Error(`decimals ${decimals} must be an integer in [0, 18]`);
  const value = parseWei(wei);
  const sign = value < 0n ? '-' : '';
  const abs = value < 0n ? -value : value;
  const whole = abs / WEI_PER_ETHER;
  const fraction = ((abs % WEI_PER_ETHER) / 10n ** BigInt(18 - decimals)).toString().padStart(decimals, '0');
  return decimals === 0 ? `${sign}${whole}` : `${sign}${whole}.${fraction}`;
}
