import type { Address } from 'viem';

/**
 * The StandardMerkleTree leaf encoding RevenueDistributor.claim verifies:
 * leaf = keccak256(keccak256(abi.encode(chainId, distributor, account, shares, cumulative))).
 * `cumulative` is the account's total entitlement in wei since epoch 1, never decreasing.
 */
export const ENTITLEMENT_LEAF_TYPES = ['uint256', 'address', 'address', 'uint256', 'uint256'] as const;

export type EntitlementLeaf = [chainId: bigint, distributor: Address, account: Address, shares: bigint, cumulative: bigint];

export interface EntitlementLeafParameters {
  chainId: number | bigint;
  distributor: Address;
  account: Address;
  shares: bigint;
  cumulative: bigint;
}

/** The leaf's values in ENTITLEMENT_LEAF_TYPES order, ready for StandardMerkleTree.of. */
export function entitlementLeaf({ chainId, distributor, account, shares, cumulative }: EntitlementLeafParameters): EntitlementLeaf {
  return [BigInt(chainId), distributor, account, shares, cumulative];
}
