import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SiweVerifier, type SiweNonceStore } from '@openshard/ownership';

/** Sign-in messages older than this are refused (ms). */
const SIWE_MAX_AGE_MS = 10 * 60_000;
const SIWE_NONCE_TTL_MS = 10 * 60_000;
/** A signed-in volunteer stays signed in this long (ms), unless SignInOptions.sessionTtlMs says otherwise. */
export const SESSION_TTL_MS = 24 * 60 * 60_000;

export interface SignInOptions {
  /**
   * Where volunteers sign in from (SIWE domain and URI origin): the web app's origin; a function
   * when it is known only later (the coordinator serving the app itself: its URL once it listens).
   */
  webOrigin: string | (() => string);
  /** The chain sign-in messages must name. */
  chainId: number;
  dataDir: string;
  /** How long a session lasts (ms); SESSION_TTL_MS by default. Volunteers sign in again before it ends. */
  sessionTtlMs?: number;
}

/** The key of session tokens, kept in the data folder so sessions outlive a restart. */
function sessionSecret(dataDir: string): Buffer {
  const path = join(dataDir, 'session-secret');
  if (!existsSync(path)) writeFileSync(path, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
  return Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
}

/** What the coordinator uses of a SiweVerifier: nonces and expectations for the page, sign-ins, sessions. */
export type SignIn = Pick<SiweVerifier, 'expected' | 'issueNonce' | 'verify' | 'verifySession'>;

/** Sign-In with Ethereum for this coordinator's web origin and chain. */
export function signInVerifier(o: SignInOptions, nonces: SiweNonceStore): SignIn {
  const secret = sessionSecret(o.dataDir);
  const verifierFor = (webOrigin: string) => {
    const web = new URL(webOrigin);
    return new SiweVerifier({
      domain: web.host,
      origin: web.origin,
      chainId: o.chainId,
      maxAgeMs: SIWE_MAX_AGE_MS,
      nonceTtlMs: SIWE_NONCE_TTL_MS,
      sessionTtlMs: o.sessionTtlMs ?? SESSION_TTL_MS,
      secret,
      now: Date.now,
      nonces,
    });
  };
  const { webOrigin } = o;
  return typeof webOrigin === 'string' ? verifierFor(webOrigin) : builtOnFirstUse(() => verifierFor(webOrigin()));
}

/**
 * A verifier made when it is first used. The routes and the coordinator that hold it are made
 * before the server listens, and only then is its URL (the sign-in origin) known; nothing uses the
 * verifier before a request arrives.
 */
function builtOnFirstUse(make: () => SiweVerifier): SignIn {
  let verifier: SiweVerifier | null = null;
  const made = () => (verifier ??= make());
  return {
    get expected() {
      return made().expected;
    },
    issueNonce: () => made().issueNonce(),
    verify: (message, signature) => made().verify(message, signature),
    verifySession: (token) => made().verifySession(token),
  };
}
