import { useQuery } from '@tanstack/react-query';
import type { Address, Hex } from 'viem';

/** How often the page asks the coordinator for the connected address's ownership (ms). */
export const OWNERSHIP_POLL_MS = 2_000;

/** The latest epoch on chain for one address; amounts are decimal strings (wei). */
export interface EpochView {
  epoch: number;
  root: Hex;
  shares: string;
  entitlement: string;
  proof: Hex[];
  claimed: string;
  claimable: string;
}

/** GET /ownership/:address: shares are accepted FLOPs, decimal strings. */
export interface OwnershipView {
  address: Address;
  runId: string;
  shares: string;
  totalShares: string;
  shareOfTotal: number;
  /** null: no epoch is published yet, or this address holds nothing in it. */
  epoch: EpochView | null;
}

export async function fetchOwnership(coordinatorUrl: string, address: Address): Promise<OwnershipView> {
  const url = `${coordinatorUrl}/ownership/${address}`;
  const response = await fetch(url);
  const body = (await response.json().catch(() => null)) as OwnershipView | { message?: string } | null;
  if (!response.ok || !body || !('shares' in body)) {
    throw new Error(`${url} answered ${response.status}${body && 'message' in body && body.message ? `: ${body.message}` : ''}`);
  }
  return body;
}

/** The connected address's ownership, refreshed every OWNERSHIP_POLL_MS while there is one. */
export function useOwnership(coordinatorUrl: string, address: Address | undefined) {
  return useQuery({
    queryKey: ['ownership', coordinatorUrl, address],
    queryFn: () => fetchOwnership(coordinatorUrl, address!),
    enabled: address !== undefined,
    refetchInterval: OWNERSHIP_POLL_MS,
  });
}
