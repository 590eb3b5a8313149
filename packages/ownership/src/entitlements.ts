/**
 * Epoch math: revenue (wei) deposited during epoch e is split pro rata among the shares (FLOPs)
 * that existed when epoch e opened. Integers only.
 *
 * Rule: shares accrued during epoch e start earning from epoch e+1 on. `closeEpoch(state, { newShares,
 * revenue })` for epoch e first distributes `revenue` (plus revenue carried from epochs that had no
 * shares) over `state.totalShares`, then adds `newShares`. An epoch that opens with no shares carries
 * its whole revenue into the next epoch's pool.
 *
 * Reward-per-share accumulator: each epoch adds delta = ⌊pool·ACC / S⌋ to `accPerShare` (ACC-scaled wei
 * per FLOP). A holder's ACC-scaled earnings are `accrued + shares·(accPerShare − checkpoint)`, where
 * `accrued` holds what it earned up to `checkpoint`, the accumulator when its shares last changed;
 * its entitlement (wei) is that amount divided by ACC, rounded down. Keeping `accrued` scaled means a
 * holder's fraction of a wei is carried into its later epochs, never dropped at a settlement.
 *
 * Invariants (test/entitlements.test.ts checks each against exact rational arithmetic):
 *   ACC·Σ revenue = Σ_i ACC-scaled earnings_i + remainder + ACC·carried       (nothing is lost)
 *   entitlement_i ≤ exact_i                                                      (rounding only goes down)
 *   entitlement_i > exact_i − 1 − (Σ_e shares_i,e)/ACC ≥ exact_i − (epochs + 1)  (while Σ shares ≤ ACC)
 *   Σ revenue − Σ entitlement_i − carried < holders + remainder/ACC ≤ holders + epochs (the dust, wei)
 * where exact_i = Σ_e pool_e · shares_i,e / S_e in rationals and shares_i,e are i's shares when e opened.
 * The accumulator's own rounding (`remainder`, < S_e ACC-scaled wei, i.e. < S_e/ACC wei per epoch)
 * is kept, not redistributed: handing it to the next epoch's shares could lift a newcomer above its
 * exact share, and it stays below one wei for 10^17 epochs of 10^18 shares.
 */
import type { Address } from 'viem';
import { checksummed } from './address.ts';

/** Scale of `accPerShare`: ACC-scaled wei per FLOP. */
export const ACC_PRECISION = 10n ** 36n;

/** Σ shares (FLOPs) allowed; at most ACC_PRECISION keeps each holder's rounding loss under epochs + 1 wei. */
export const MAX_TOTAL_SHARES = ACC_PRECISION;

/** One holder's carried state; amounts are bigint FLOPs and ACC-scaled wei. */
export interface HolderAccount {
  /** Cumulative shares, FLOPs of accepted work. */
  readonly shares: bigint;
  /** ACC-scaled wei earned up to `checkpoint`. */
  readonly accrued: bigint;
  /** `accPerShare` when `shares` last changed. */
  readonly checkpoint: bigint;
}

export interface EpochState {
  /** The last closed epoch; 0 before the first. */
  readonly epoch: number;
  readonly totalShares: bigint;
  /** Σ over closed epochs of ⌊pool·ACC / S⌋, ACC-scaled wei per FLOP. Never decreases. */
  readonly accPerShare: bigint;
  /** Wei deposited in epochs that opened with no shares; paid into the next epoch's pool. */
  readonly carried: bigint;
  /** ACC-scaled wei the accumulator's floor left unassigned, summed over epochs. */
  readonly remainder: bigint;
  /** Σ revenue deposited, wei. */
  readonly totalRevenue: bigint;
  /** Keyed by checksummed address. */
  readonly holders: ReadonlyMap<Address, HolderAccount>;
}

export interface CloseEpochParameters {
  /** FLOPs of work accepted during this epoch, per address; they earn from the next epoch on. */
  newShares: ReadonlyMap<string, bigint>;
  /** Wei deposited during this epoch. */
  revenue: bigint;
}

/** What a holder is owed after an epoch: the leaf of that epoch's Merkle tree. */
export interface Entitlement {
  address: Address;
  /** Cumulative shares, FLOPs, including those accrued in the epoch just closed (they earn from the next). */
  shares: bigint;
  /** Cumulative entitlement, wei. Never decreases. */
  cumulative: bigint;
}

/** Input refused by the epoch math; nothing was applied. */
export class EpochInputError extends Error {
  override name = 'EpochInputError';
}

export function createEpochState(): EpochState {
  return { epoch: 0, totalShares: 0n, accPerShare: 0n, carried: 0n, remainder: 0n, totalRevenue: 0n, holders: new Map() };
}

/** Closes epoch `state.epoch + 1`; returns the new state and leaves `state` untouched. */
export function closeEpoch(state: EpochState, { newShares, revenue }: CloseEpochParameters): EpochState {
  const epoch = state.epoch + 1;
  checkAmount(revenue, `revenue of epoch ${epoch}`, 'wei');
  const accrued = normaliseShares(newShares, epoch);

  let { accPerShare, carried, remainder, totalShares } = state;
  const pool = revenue + carried;
  if (totalShares === 0n) {
    carried = pool;
  } else {
    const scaled = pool * ACC_PRECISION;
    const delta = scaled / totalShares;
    accPerShare += delta;
    remainder += scaled - delta * totalShares;
    carried = 0n;
  }

  const holders = new Map(state.holders);
  for (const [address, shares] of accrued) {
    const h = holders.get(address);
    const earned = h ? h.accrued + h.shares * (accPerShare - h.checkpoint) : 0n;
    holders.set(address, { shares: (h?.shares ?? 0n) + shares, accrued: earned, checkpoint: accPerShare });
    totalShares += shares;
  }
  if (totalShares > MAX_TOTAL_SHARES) {
    throw new EpochInputError(`total shares would reach ${totalShares} FLOPs in epoch ${epoch}, above MAX_TOTAL_SHARES = ${MAX_TOTAL_SHARES}; rescale work units before closing the epoch`);
  }
  return { epoch, totalShares, accPerShare, carried, remainder, totalRevenue: state.totalRevenue + revenue, holders };
}

/** Cumulative entitlement of `address` in wei; 0n for an address that never held shares. */
export function entitlementOf(state: EpochState, address: string): bigint {
  const h = state.holders.get(toAddress(address, 'address'));
  return h ? earnedScaled(state, h) / ACC_PRECISION : 0n;
}

/** Every holder's cumulative shares and entitlement, sorted by address: the leaves of the epoch tree. */
export function entitlements(state: EpochState): Entitlement[] {
  return [...state.holders]
    .map(([address, h]) => ({ address, shares: h.shares, cumulative: earnedScaled(state, h) / ACC_PRECISION }))
    .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

/** Wei deposited but owed to no one yet: rounding dust (< holders + epochs) plus `carried`. */
export function undistributed(state: EpochState): bigint {
  return state.totalRevenue - entitlements(state).reduce((sum, e) => sum + e.cumulative, 0n);
}

function earnedScaled(state: EpochState, h: HolderAccount): bigint {
  return h.accrued + h.shares * (state.accPerShare - h.checkpoint);
}

function normaliseShares(newShares: ReadonlyMap<string, bigint>, epoch: number): Map<Address, bigint> {
  const out = new Map<Address, bigint>();
  const spelled = new Map<Address, string>();
  for (const [raw, shares] of newShares) {
    const address = toAddress(raw, `newShares of epoch ${epoch}`);
    checkAmount(shares, `newShares of epoch ${epoch} for ${address}`, 'FLOPs');
    const before = spelled.get(address);
    if (before !== undefined) {
      throw new EpochInputError(`newShares of epoch ${epoch} lists ${address} twice ('${before}' and '${raw}'); sum its shares under one key`);
    }
    spelled.set(address, raw);
    if (shares > 0n) out.set(address, shares);
  }
  return out;
}

/** Checksummed form of `raw`; refuses non-addresses and mixed-case spellings with a wrong checksum. */
function toAddress(raw: string, what: string): Address {
  const address = checksummed(raw);
  if (address === undefined) {
    throw new EpochInputError(`${what}: '${String(raw)}' is not an address; expected 0x and 40 hex digits (all lower case, all upper case, or EIP-55 checksummed)`);
  }
  return address;
}

function checkAmount(value: bigint, what: string, unit: string): void {
  if (typeof value !== 'bigint') {
    throw new EpochInputError(`${what} is ${typeof value} ${String(value)}; expected a bigint in ${unit}`);
  }
  if (value < 0n) throw new EpochInputError(`${what} is ${value} ${unit}; expected ≥ 0`);
}
