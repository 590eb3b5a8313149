import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SiweVerifier, type SiweNonceStore } from '@openshard/ownership';

/** Sign-in messages older than this are refused (ms). */
const SIWE_MAX_AGE_MS = 10 * 60_000;
const SIWE_NONCE_TTL_MS = 10 * 60_000;
/** A signed-in volunteer stays signed in this long (ms). */
const SESSION_TTL_MS = 24 * 60 * 60_000;

export interface SignInOptions {
  /** Where volunteers sign in from (SIWE domain and URI origin): the web app's origin. */
  webOrigin: string;
  /** The chain sign-in messages must name. */
  chainId: number;
  dataDir: string;
}

/** The key of session tokens, kept in the data folder so sessions outlive a restart. */
function sessionSecret(dataDir: string): Buffer {
  const path = join(dataDir, 'session-secret');
  if (!existsSync(path)) writeFileSync(path, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
  return Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
}

/** Sign-In with Ethereum for this coordinator's web origin and chain. */
export function signInVerifier(o: SignInOptions, nonces: SiweNonceStore): SiweVerifier {
  const web = new URL(o.webOrigin);
  return new SiweVerifier({
    domain: web.host,
    origin: web.origin,
    chainId: o.chainId,
    maxAgeMs: SIWE_MAX_AGE_MS,
    nonceTtlMs: SIWE_NONCE_TTL_MS,
    sessionTtlMs: SESSION_TTL_MS,
    secret: sessionSecret(o.dataDir),
    now: Date.now,
    nonces,
  });
}
