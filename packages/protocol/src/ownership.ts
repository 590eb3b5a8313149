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

/** One epoch's revenue, as GET /revenue answers it (wei as decimal strings). */
export interface RevenueEpoch {
  epoch: number;
  /** Unix ms the epoch closed. */
  closedAt: number;
  /** Wei that entered the distributor during the epoch (paid requests and deposits). */
  revenue: string;
  /** Inference requests served between the previous epoch's close and this one's, and the wei they paid. */
  requests: number;
  paidForRequests: string;
  /** What the epoch added to the address's cumulative entitlement; null without an address. */
  holderPart: string | null;
  published: boolean;
}

export interface RevenueView {
  epochs: RevenueEpoch[];
}
