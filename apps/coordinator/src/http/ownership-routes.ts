import { loadEpochTree, SiweError, type SiweSession } from '@openshard/ownership';
import type { SignIn } from '../sign-in.ts';
import type { EpochView, OwnershipView } from '@openshard/protocol';
import { Hono, type MiddlewareHandler } from 'hono';
import { getAddress, isAddress, type Hex } from 'viem';
import type { DistributorChain } from '../ownership/distributor-chain.ts';
import type { EpochStore, RunStore } from '../store/stores.ts';
import { HttpError, limitBody, readJson } from './http-error.ts';

/** The largest sign-in request body read (bytes): a SIWE message is a few hundred. */
export const MAX_SIWE_BODY_BYTES = 8 * 1024;

export interface OwnershipRoutesOptions {
  siwe: SignIn;
  store: RunStore;
  runId: string;
  /** Without a chain there are no epochs: the view has shares only. */
  chain?: { epochs: EpochStore; distributor: DistributorChain; rpcUrl: string };
}

/** Nonces, sessions and balances change from one request to the next: never cached. */
const noStore: MiddlewareHandler = async (c, next) => {
  await next();
  c.header('cache-control', 'no-store');
};

/**
 * Sign-in with Ethereum and the ownership record over HTTP:
 *   GET  /siwe/nonce            → { nonce, domain, uri, chainId, statement? } (what the message must say)
 *   POST /siwe/verify           { message, signature } → { address, sessionToken, expiresAt }
 *   GET  /ownership/:address    → OwnershipView
 *   GET  /chain                 → { chainId, rpcUrl, distributor }
 */
export function ownershipRoutes(o: OwnershipRoutesOptions) {
  const epochView = epochViews(o);
  return new Hono()
    .use('/siwe/*', noStore)
    .use('/ownership/*', noStore)
    .use('/chain', noStore)
    .get('/siwe/nonce', async (c) => c.json({ nonce: await o.siwe.issueNonce(), ...o.siwe.expected }))
    .post('/siwe/verify', limitBody(MAX_SIWE_BODY_BYTES), async (c) => {
      const { message, signature } = ((await readJson(c)) ?? {}) as { message?: unknown; signature?: unknown };
      if (typeof message !== 'string' || typeof signature !== 'string') {
        throw new HttpError(400, 'bad-request', 'expected a JSON object { message: string, signature: string }');
      }
      return c.json(await signIn(o.siwe, message, signature));
    })
    .get('/ownership/:address', async (c) => {
      const raw = c.req.param('address');
      if (!isAddress(raw, { strict: false })) throw new HttpError(400, 'bad-address', `'${raw.slice(0, 64)}' is not an Ethereum address (0x and 40 hex digits)`);
      const address = getAddress(raw);
      const shares = await o.store.shares(o.runId);
      const total = [...shares.values()].reduce((a, b) => a + b, 0n);
      const mine = shares.get(address) ?? 0n;
      const view: OwnershipView = {
        address,
        runId: o.runId,
        shares: mine.toString(),
        totalShares: total.toString(),
        shareOfTotal: total === 0n ? 0 : Number((mine * 1_000_000n) / total) / 1_000_000,
        epoch: await epochView(address),
      };
      return c.json(view);
    })
    .get('/chain', (c) => {
      if (!o.chain) throw new HttpError(404, 'no-chain', 'this coordinator has no chain: start it with --local-chain or --chain FILE');
      return c.json({ chainId: o.chain.distributor.chainId, rpcUrl: o.chain.rpcUrl, distributor: o.chain.distributor.distributor });
    });
}

export type OwnershipRoutes = ReturnType<typeof ownershipRoutes>;

/** A refused sign-in is 401 with the check that refused it as the code. */
async function signIn(siwe: SignIn, message: string, signature: string): Promise<SiweSession> {
  try {
    return await siwe.verify(message, signature);
  } catch (e) {
    throw e instanceof SiweError ? new HttpError(401, e.code, e.message) : e;
  }
}

/** An address's claim in the latest published epoch, or null without a chain, an epoch or a claim. */
function epochViews(o: OwnershipRoutesOptions): (address: Hex) => Promise<EpochView | null> {
  // loading a tree checks its root (~0.5 s for 1,000 holders): once per epoch, not per request
  let cached: { root: Hex; tree: ReturnType<typeof loadEpochTree> } | null = null;
  return async (address) => {
    const latest = await o.chain?.epochs.latestPublished(o.runId);
    if (!o.chain || !latest) return null;
    if (cached?.root !== latest.root) cached = { root: latest.root, tree: loadEpochTree(latest.tree, { root: latest.root }) };
    const claim = cached.tree.claim(address);
    if (!claim) return null;
    const claimed = await o.chain.distributor.claimed(address);
    return {
      epoch: latest.epoch,
      root: latest.root,
      shares: claim.shares.toString(),
      entitlement: claim.cumulative.toString(),
      proof: claim.proof,
      claimed: claimed.toString(),
      claimable: (claim.cumulative > claimed ? claim.cumulative - claimed : 0n).toString(),
    };
  };
}
