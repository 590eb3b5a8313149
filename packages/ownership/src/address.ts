import { getAddress, isAddress } from 'viem';
import type { Address } from 'viem';

/**
 * The EIP-55 checksummed form of `raw`, or undefined when it is not an address. All-lower and
 * all-upper case carry no checksum and are accepted; a mixed-case spelling must match its checksum,
 * since a mismatch is how EIP-55 reveals a typo.
 */
export function checksummed(raw: unknown): Address | undefined {
  if (typeof raw !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(raw)) return undefined;
  const hex = raw.slice(2);
  const unchecksummed = hex === hex.toLowerCase() || hex === hex.toUpperCase();
  if (!unchecksummed && !isAddress(raw)) return undefined;
  return getAddress(raw.toLowerCase());
}
