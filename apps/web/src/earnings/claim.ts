import { revenueDistributorAbi } from '@openshard/contracts';
import { parseEventLogs, type Address, type Hash, type TransactionReceipt } from 'viem';
import type { Config } from 'wagmi';
import { waitForTransactionReceipt } from 'wagmi/actions';
import { formatEth, parseWei } from './format-wei.ts';
import type { EpochView } from '@openshard/protocol';

/** Sends a transaction and resolves to its hash: wagmi's useWriteContract().mutateAsync. */
type WriteClaim = (variables: {
  address: Address;
  abi: typeof revenueDistributorAbi;
  functionName: 'claim';
  args: readonly [Address, bigint, bigint, readonly Hash[]];
  chainId: number;
}) => Promise<Hash>;

export interface ClaimResult {
  hash: Hash;
  blockNumber: bigint;
  /** Wei paid out, from the Claimed event. */
  amount: bigint;
}

export class ClaimError extends Error {
  override name = 'ClaimError';
}

/** Wei the distributor's Claimed event says it paid `account` in this receipt, or null when there is none. */
export function claimedAmount(receipt: Pick<TransactionReceipt, 'logs'>, account: Address): bigint | null {
  const events = parseEventLogs({ abi: revenueDistributorAbi, logs: receipt.logs, eventName: 'Claimed' });
  const mine = events.find((e) => e.args.account.toLowerCase() === account.toLowerCase());
  return mine ? mine.args.amount : null;
}

/** Claims `account`'s cumulative entitlement in the latest epoch and waits until it is mined. */
export async function claimEntitlement(config: Config, write: WriteClaim, p: { distributor: Address; chainId: number; account: Address; epoch: EpochView }): Promise<ClaimResult> {
  const hash = await write({
    address: p.distributor,
    abi: revenueDistributorAbi,
    functionName: 'claim',
    args: [p.account, parseWei(p.epoch.shares), parseWei(p.epoch.entitlement), p.epoch.proof],
    chainId: p.chainId,
  });
  const receipt = await waitForTransactionReceipt(config, { hash, chainId: p.chainId });
  if (receipt.status !== 'success') throw new ClaimError(`claim transaction ${hash} reverted in block ${receipt.blockNumber}`);
  return { hash, blockNumber: receipt.blockNumber, amount: claimedAmount(receipt, p.account) ?? parseWei(p.epoch.claimable) };
}

export function describeClaim(r: ClaimResult): string {
  return `Claimed ${formatEth(r.amount)} ETH in block ${r.blockNumber} (tx ${r.hash})`;
}
