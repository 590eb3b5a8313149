import type { IncomingMessage, ServerResponse } from 'node:http';
import { loadEpochTree, SiweError, type SiweVerifier } from '@openshard/ownership';
import type { EpochView, OwnershipView } from '@openshard/protocol';
import { getAddress, isAddress, type Hex } from 'viem';
import type { DistributorChain } from '../ownership/distributor-chain.ts';
import type { EpochStore } from '../ownership/epoch-store.ts';
import type { RunStore } from '../store/run-store.ts';

/** The largest sign-in request body read (bytes): a SIWE message is a few hundred. */
export const MAX_SIWE_BODY_BYTES = 8 * 1024;

export interface OwnershipRoutesOptions {
  siwe: SiweVerifier;
  store: RunStore;
  runId: string;
  /** Without a chain there are no epochs: the view has shares only. */
  chain?: { epochs: EpochStore; distributor: DistributorChain; rpcUrl: string };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new HttpError(413, 'too-large', `request body is ${declared} bytes, above the limit of ${limit}`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, 'too-large', `request body exceeds the limit of ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'bad-json', 'request body is not JSON');
  }
}

/**
 * Sign-in with Ethereum and the ownership record over HTTP:
 *   GET  /siwe/nonce            → { nonce, domain, uri, chainId, statement? } (what the message must say)
 *   POST /siwe/verify           { message, signature } → { address, sessionToken, expiresAt }
 *   GET  /ownership/:address    → OwnershipView
 *   GET  /chain                 → { chainId, rpcUrl, distributor }
 * Returns false for any other path, so the caller can answer it.
 */
export function ownershipRoutes(o: OwnershipRoutesOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const handle = async (req: IncomingMessage, res: ServerResponse, path: string) => {
    try {
      if (path === '/siwe/nonce' && req.method === 'GET') return send(res, 200, { nonce: o.siwe.issueNonce(), ...o.siwe.expected });
      if (path === '/siwe/verify' && req.method === 'POST') {
        const body = await readJson(req, MAX_SIWE_BODY_BYTES);
        const { message, signature } = (body ?? {}) as { message?: unknown; signature?: unknown };
        if (typeof message !== 'string' || typeof signature !== 'string') {
          throw new HttpError(400, 'bad-request', 'expected a JSON object { message: string, signature: string }');
        }
        return send(res, 200, await o.siwe.verify(message, signature));
      }
      const match = /^\/ownership\/([^/]+)$/.exec(path);
      if (match && req.method === 'GET') {
        const raw = decodeURIComponent(match[1]);
        if (!isAddress(raw, { strict: false })) throw new HttpError(400, 'bad-address', `'${raw.slice(0, 64)}' is not an Ethereum address (0x and 40 hex digits)`);
        const address = getAddress(raw);
        const shares = o.store.shares(o.runId);
        const total = [...shares.values()].reduce((a, b) => a + b, 0n);
        const mine = shares.get(address) ?? 0n;
        const view: OwnershipView = {
          address, runId: o.runId, shares: mine.toString(), totalShares: total.toString(),
          shareOfTotal: total === 0n ? 0 : Number((mine * 1_000_000n) / total) / 1_000_000, epoch: await epochView(address),
        };
        return send(res, 200, view);
      }
      if (path === '/chain' && req.method === 'GET') {
        if (!o.chain) throw new HttpError(404, 'no-chain', 'this coordinator has no chain: start it with --local-chain or --chain FILE');
        return send(res, 200, { chainId: o.chain.distributor.chainId, rpcUrl: o.chain.rpcUrl, distributor: o.chain.distributor.distributor });
      }
      throw new HttpError(404, 'not-found', `no route ${req.method} ${path}`);
    } catch (e) {
      if (e instanceof SiweError) return send(res, 401, { error: e.code, message: e.message });
      if (e instanceof HttpError) return send(res, e.status, { error: e.code, message: e.message });
      send(res, 500, { error: 'internal', message: (e as Error).message });
    }
  };
  // loading a tree checks its root (~0.5 s for 1,000 holders): once per epoch, not per request
  let cached: { root: Hex; tree: ReturnType<typeof loadEpochTree> } | null = null;
  const epochView = async (address: Hex): Promise<EpochView | null> => {
    const latest = o.chain?.epochs.latestPublished(o.runId);
    if (!o.chain || !latest) return null;
    if (cached?.root !== latest.root) cached = { root: latest.root, tree: loadEpochTree(latest.tree, { root: latest.root }) };
    const claim = cached.tree.claim(address);
    if (!claim) return null;
    const claimed = await o.chain.distributor.claimed(address);
    return {
      epoch: latest.epoch, root: latest.root, shares: claim.shares.toString(), entitlement: claim.cumulative.toString(), proof: claim.proof,
      claimed: claimed.toString(), claimable: (claim.cumulative > claimed ? claim.cumulative - claimed : 0n).toString(),
    };
  };
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://coordinator').pathname;
    if (!path.startsWith('/siwe/') && !path.startsWith('/ownership/') && path !== '/chain') return false;
    void handle(req, res, path);
    return true;
  };
}
