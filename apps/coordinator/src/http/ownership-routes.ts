import type { IncomingMessage, ServerResponse } from 'node:http';
import { SiweError, type SiweVerifier } from '@openshard/ownership';
import { getAddress, isAddress } from 'viem';
import type { RunStore } from '../store/run-store.ts';

/** The largest sign-in request body read (bytes): a SIWE message is a few hundred. */
export const MAX_SIWE_BODY_BYTES = 8 * 1024;

export interface OwnershipRoutesOptions {
  siwe: SiweVerifier;
  store: RunStore;
  runId: string;
}

/** What /ownership/:address answers. Amounts are decimal strings (BigInt). */
export interface OwnershipView {
  address: string;
  runId: string;
  /** Cumulative accepted FLOPs committed for this address. */
  shares: string;
  totalShares: string;
  /** shares / totalShares, for display only. */
  shareOfTotal: number;
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
 *   GET  /siwe/nonce            → { nonce }
 *   POST /siwe/verify           { message, signature } → { address, sessionToken, expiresAt }
 *   GET  /ownership/:address    → OwnershipView
 * Returns false for any other path, so the caller can answer it.
 */
export function ownershipRoutes(o: OwnershipRoutesOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const handle = async (req: IncomingMessage, res: ServerResponse, path: string) => {
    try {
      if (path === '/siwe/nonce' && req.method === 'GET') return send(res, 200, { nonce: o.siwe.issueNonce() });
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
          shareOfTotal: total === 0n ? 0 : Number((mine * 1_000_000n) / total) / 1_000_000,
        };
        return send(res, 200, view);
      }
      throw new HttpError(404, 'not-found', `no route ${req.method} ${path}`);
    } catch (e) {
      if (e instanceof SiweError) return send(res, 401, { error: e.code, message: e.message });
      if (e instanceof HttpError) return send(res, e.status, { error: e.code, message: e.message });
      send(res, 500, { error: 'internal', message: (e as Error).message });
    }
  };
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://coordinator').pathname;
    if (!path.startsWith('/siwe/') && !path.startsWith('/ownership/')) return false;
    void handle(req, res, path);
    return true;
  };
}
