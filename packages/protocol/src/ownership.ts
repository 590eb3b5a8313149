/** `0x`-prefixed hex, as viem's Hex (protocol does not depend on viem). */
type Hex = `0x${string}`;

/** The latest epoch on chain, as it concerns one address. Amounts are decimal strings (wei, FLOPs). */
export interface EpochView {
  epoch: number;
  root: Hex;
  /** Shares and cumulative entitlement (wei) in the epoch's leaf for this address: what claim() takes. */
  shares: string;
  entitlement: string;
  proof: Hex[];
  /** Paid out so far (read from the contract), and what a claim would pay now. */
  claimed: string;
  claimable: string;
}

/** What the coordinator's GET /ownership/:address answers. */
export interface OwnershipView {
  address: Hex;
  runId: string;
  /** Cumulative accepted FLOPs committed for this address. */
  shares: string;
  totalShares: string;
  /** shares / totalShares, for display only. */
  shareOfTotal: number;
  /** null: no epoch is on chain yet, or this address holds nothing in it. */
  epoch: EpochView | null;
}
