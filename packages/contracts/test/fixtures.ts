/** Entitlement trees for tests and benches, built the way packages/ownership builds them. */
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import type { Address, Hex } from 'viem';
import { ENTITLEMENT_LEAF_TYPES, entitlementLeaf, type EntitlementLeaf } from '../src/leaf.ts';

export interface Entitlement {
  account: Address;
  shares: bigint;
  /** Total wei owed to `account` since epoch 1. */
  cumulative: bigint;
}

export interface ClaimArgs {
  account: Address;
  shares: bigint;
  cumulative: bigint;
  proof: Hex[];
}

export interface EntitlementTree {
  root: Hex;
  /** Sum of all cumulative entitlements, the value publishRoot needs. */
  totalCumulative: bigint;
  tree: StandardMerkleTree<EntitlementLeaf>;
  /** Arguments for RevenueDistributor.claim for `account`. */
  claimArgs(account: Address): ClaimArgs;
}

export function entitlementTree(chainId: number, distributor: Address, entitlements: readonly Entitlement[]): EntitlementTree {
  const values = entitlements.map((e) => entitlementLeaf({ chainId, distributor, ...e }));
  const tree = StandardMerkleTree.of(values, [...ENTITLEMENT_LEAF_TYPES]);
  const index = new Map<string, number>();
  for (const [i, [, , account]] of tree.entries()) index.set(account.toLowerCase(), i);
  return {
    root: tree.root as Hex,
    totalCumulative: entitlements.reduce((sum, e) => sum + e.cumulative, 0n),
    tree,
    claimArgs(account) {
      const i = index.get(account.toLowerCase());
      if (i === undefined) throw new Error(`account ${account} has no leaf in tree ${tree.root}`);
      const [, , , shares, cumulative] = tree.at(i)!;
      return { account, shares, cumulative, proof: tree.getProof(i) as Hex[] };
    },
  };
}

/** Splits `amount` wei pro rata to `shares`, rounding down; the remainder stays undistributed. */
export function splitProRata(amount: bigint, shares: readonly bigint[]): bigint[] {
  const total = shares.reduce((a, b) => a + b, 0n);
  return shares.map((s) => (total === 0n ? 0n : (amount * s) / total));
}

/** mulberry32: a small seeded PRNG so randomized sequences replay exactly. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
