import { getAddress, isAddress, type Address } from 'viem';

/** Where revenue is claimed, as the coordinator's GET /chain says. */
export interface ChainInfo {
  chainId: number;
  rpcUrl: string;
  distributor: Address;
}

export type ChainLookup =
  | { kind: 'loading' }
  | { kind: 'ready'; chain: ChainInfo }
  /** The coordinator runs without a chain (404 no-chain): there is nothing to claim. */
  | { kind: 'no-chain'; message: string }
  | { kind: 'failed'; message: string };

/** Asks the coordinator which chain and RevenueDistributor it publishes epochs to. */
export async function fetchChainInfo(coordinatorUrl: string, fetchImpl: typeof fetch = fetch): Promise<ChainLookup> {
  const url = `${coordinatorUrl}/chain`;
  let response: Response;
  try {
    response = await fetchImpl(url);
  } catch (e) {
    return { kind: 'failed', message: `could not reach ${url}: ${(e as Error).message}` };
  }
  const body = (await response.json().catch(() => null)) as (Partial<ChainInfo> & { error?: string; message?: string }) | null;
  if (response.status === 404 && body?.error === 'no-chain') return { kind: 'no-chain', message: body.message ?? 'the coordinator has no chain' };
  if (!body) return { kind: 'failed', message: `${url} answered ${response.status} without JSON: is /chain proxied to the coordinator?` };
  if (!response.ok) return { kind: 'failed', message: `${url} answered ${response.status}${body.message ? `: ${body.message}` : ''}` };
  const { chainId, rpcUrl, distributor } = body;
  if (typeof chainId !== 'number' || typeof rpcUrl !== 'string' || typeof distributor !== 'string' || !isAddress(distributor, { strict: false })) {
    return { kind: 'failed', message: `${url} answered ${JSON.stringify(body).slice(0, 200)}, expected { chainId, rpcUrl, distributor }` };
  }
  return { kind: 'ready', chain: { chainId, rpcUrl, distributor: getAddress(distributor) } };
}
