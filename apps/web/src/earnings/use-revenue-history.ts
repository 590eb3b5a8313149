import type { RevenueView } from '@openshard/protocol';
import { useQuery } from '@tanstack/react-query';
import type { Address } from 'viem';
import { parseRevenueView } from './revenue-history.ts';
import { OWNERSHIP_POLL_MS } from './use-ownership.ts';

/** As often as the ownership view, so the history and the entitlement above it move together (ms). */
export const REVENUE_POLL_MS = OWNERSHIP_POLL_MS;

export async function fetchRevenueHistory(coordinatorUrl: string, address: Address): Promise<RevenueView> {
  const url = `${coordinatorUrl}/revenue?address=${address}`;
  const response = await fetch(url);
  const body = (await response.json().catch(() => null)) as { message?: string } | null;
  if (!response.ok || !body) throw new Error(`${url} answered ${response.status}${body?.message ? `: ${body.message}` : ''}`);
  try {
    return parseRevenueView(body);
  } catch (e) {
    throw new Error(`${url} answered ${(e as Error).message}`);
  }
}

/** The revenue of every closed epoch and the address's part of it, refreshed every REVENUE_POLL_MS while there is an address. */
export function useRevenueHistory(coordinatorUrl: string, address: Address | undefined) {
  return useQuery({
    queryKey: ['revenue', coordinatorUrl, address],
    queryFn: () => fetchRevenueHistory(coordinatorUrl, address!),
    enabled: address !== undefined,
    refetchInterval: REVENUE_POLL_MS,
  });
}
