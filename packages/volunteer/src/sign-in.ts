import type { Address, Hex } from 'viem';
import { createSiweMessage } from 'viem/siwe';

/** Signs text the way a wallet's personal_sign does (viem's LocalAccount, or wagmi's signMessage). */
export interface MessageSigner {
  address: Address;
  signMessage(args: { message: string }): Promise<Hex>;
}

export interface SignInResult {
  address: Address;
  /** Pass as VolunteerOptions.session: accepted work accrues to `address`. */
  sessionToken: string;
  expiresAt: number;
}

export class SignInError extends Error {
  override name = 'SignInError';
}

/**
 * Sign-In with Ethereum against a coordinator: asks for a nonce and what the message must say,
 * has the wallet sign an EIP-4361 message, and trades it for a session token.
 */
export async function signIn(coordinatorUrl: string, signer: MessageSigner, fetchImpl: typeof fetch = fetch): Promise<SignInResult> {
  const nonceResponse = await fetchImpl(`${coordinatorUrl}/siwe/nonce`);
  if (!nonceResponse.ok) throw new SignInError(`${coordinatorUrl}/siwe/nonce answered ${nonceResponse.status}; is this an OpenShard coordinator?`);
  const { nonce, domain, uri, chainId, statement } = (await nonceResponse.json()) as { nonce: string; domain: string; uri: string; chainId: number; statement?: string };
  const message = createSiweMessage({ domain, uri, chainId, nonce, address: signer.address, version: '1', issuedAt: new Date(), ...(statement ? { statement } : {}) });
  const signature = await signer.signMessage({ message });
  const verified = await fetchImpl(`${coordinatorUrl}/siwe/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message, signature }) });
  const body = (await verified.json()) as SignInResult | { error: string; message: string };
  if (!verified.ok || 'error' in body) {
    const e = body as { error?: string; message?: string };
    throw new SignInError(`sign-in refused (${e.error ?? verified.status}): ${e.message ?? 'no reason given'}`);
  }
  return checkedSession(body, coordinatorUrl);
}

/** The coordinator's answer, checked before the session is used (its expiry schedules the renewal). */
function checkedSession(body: SignInResult, coordinatorUrl: string): SignInResult {
  const bad = (field: string, value: unknown, expected: string) => new SignInError(`${coordinatorUrl}/siwe/verify answered ${field} ${JSON.stringify(value)?.slice(0, 80)}; expected ${expected}`);
  if (typeof body.sessionToken !== 'string' || body.sessionToken === '') throw bad('sessionToken', body.sessionToken, 'a token');
  if (typeof body.address !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(body.address)) throw bad('address', body.address, 'an address');
  if (!Number.isSafeInteger(body.expiresAt) || body.expiresAt <= 0) throw bad('expiresAt', body.expiresAt, 'a time in Unix milliseconds');
  return body;
}
