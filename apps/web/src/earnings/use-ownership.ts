import { useQuery } from '@tanstack/react-query';
import type { OwnershipView } from '@openshard/protocol';
import type { Address } from 'viem';

/** How often the page asks the coordinator for the connected address's ownership (ms). */
export const OWNERSHIP_POLL_MS = 2_000;

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
