/**
 * Sign-In with Ethereum (EIP-4361) on the server: the coordinator issues a nonce, the wallet signs a
 * message built with viem's createSiweMessage, and `verify` checks every field itself before it
 * hands out a session token (HMAC-SHA256 over address and expiry). EOA signatures only (no RPC).
 *
 * Nonce rule: a nonce is consumed by the first successful sign-in and by nothing else. A refused
 * attempt leaves it in place, so whoever merely saw a nonce cannot burn it to block its owner's
 * sign-in; a captured message cannot be replayed, since its nonce is gone once it was accepted. The
 * nonce is taken after the signature check by the nonce store's atomic `consume`, so two concurrent
 * sign-ins with one nonce yield one session, in one process or across several sharing a store.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { getAddress, isAddress, verifyMessage } from 'viem';
import type { Address, Hex } from 'viem';
import { createSiweMessage, parseSiweMessage } from 'viem/siwe';
import type { SiweMessage } from 'viem/siwe';

/** How far in the future `Issued At` may lie, for clients whose clock runs ahead. */
export const SIWE_CLOCK_SKEW_MS = 60_000;
/** Longest message accepted, bytes (UTF-16 units); a canonical message with a statement is ~500. */
export const SIWE_MAX_MESSAGE_LENGTH = 4096;
/** Outstanding nonces kept; beyond it the oldest are dropped (they are also the first to expire). */
export const SIWE_MAX_OUTSTANDING_NONCES = 100_000;
/** Shortest session secret, bytes: HMAC-SHA256 gains nothing beyond its 32-byte output. */
export const SESSION_SECRET_MIN_BYTES = 32;
const NONCE_BYTES = 16;
const SESSION_TOKEN_VERSION = 'v1';

export interface SiweVerifierOptions {
  /** RFC 3986 authority the message must name, e.g. 'openshard.example' or 'localhost:5173'. */
  domain: string;
  /** Origin of the message's URI, e.g. 'https://openshard.example'. */
  origin: string;
  chainId: number;
  /** When set, the message's statement must equal it. */
  statement?: string;
  /** Oldest `Issued At` accepted, ms before now. */
  maxAgeMs: number;
  nonceTtlMs: number;
  sessionTtlMs: number;
  /** Key of the session tokens' HMAC, at least SESSION_SECRET_MIN_BYTES. */
  secret: string | Uint8Array;
  /** Current time, ms since the Unix epoch. */
  now: () => number;
  clockSkewMs?: number;
  maxOutstandingNonces?: number;
  /** Where issued nonces wait for their sign-in: shared by every process that verifies sign-ins. */
  nonces: SiweNonceStore;
}

/** What the verifier needs of a nonce store. Times are ms since the Unix epoch. */
export interface SiweNonceStore {
  /** Records an outstanding nonce that expires at `expiresAt`. */
  issue(nonce: string, expiresAt: number): Promise<void>;
  /** When an outstanding nonce expires; null if it was never issued, or was consumed or pruned. */
  expiryOf(nonce: string): Promise<number | null>;
  /** Takes the nonce if it is outstanding and unexpired at `now`, atomically: true for exactly one caller. */
  consume(nonce: string, now: number): Promise<boolean>;
  /** Forgets the nonces expired at `now`, and those issued before the latest `keep`. */
  prune(now: number, keep: number): Promise<void>;
}

/** Nonces in this process's memory: for one verifier alone (tests, a single process without a database). */
export class MemoryNonceStore implements SiweNonceStore {
  /** nonce → expiry (ms); insertion order is issue order. */
  readonly #nonces = new Map<string, number>();

  async issue(nonce: string, expiresAt: number): Promise<void> {
    this.#nonces.set(nonce, expiresAt);
  }

  async expiryOf(nonce: string): Promise<number | null> {
    return this.#nonces.get(nonce) ?? null;
  }

  async consume(nonce: string, now: number): Promise<boolean> {
    const expiresAt = this.#nonces.get(nonce);
    return expiresAt !== undefined && now < expiresAt && this.#nonces.delete(nonce);
  }

  async prune(now: number, keep: number): Promise<void> {
    for (const [nonce, expiresAt] of this.#nonces) if (expiresAt <= now) this.#nonces.delete(nonce);
    for (const nonce of this.#nonces.keys()) {
      if (this.#nonces.size <= keep) break;
      this.#nonces.delete(nonce);
    }
  }
}

export type SiweErrorCode = 'format' | 'domain' | 'uri' | 'chain' | 'statement' | 'nonce' | 'issued-at' | 'expired' | 'not-before' | 'signature' | 'session';

/** A refused sign-in or session token; `code` says which check refused it. */
export class SiweError extends Error {
  override name = 'SiweError';
  constructor(
    readonly code: SiweErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface SiweSession {
  address: Address;
  sessionToken: string;
  /** ms since the Unix epoch. */
  expiresAt: number;
}

export class SiweVerifier {
  readonly #options: Required<Omit<SiweVerifierOptions, 'statement'>> & { statement?: string };
  readonly #secret: Buffer;
  readonly #origin: URL;

  constructor(options: SiweVerifierOptions) {
    for (const key of ['maxAgeMs', 'nonceTtlMs', 'sessionTtlMs'] as const) {
      if (!(options[key] > 0 && Number.isFinite(options[key]))) throw new RangeError(`SiweVerifier option ${key} is ${options[key]}; expected a positive number of ms`);
    }
    if (!(Number.isSafeInteger(options.chainId) && options.chainId > 0)) throw new RangeError(`SiweVerifier chainId is ${options.chainId}; expected a positive EIP-155 chain id`);
    this.#secret = typeof options.secret === 'string' ? Buffer.from(options.secret, 'utf8') : Buffer.from(options.secret);
    if (this.#secret.length < SESSION_SECRET_MIN_BYTES) {
      throw new RangeError(`SiweVerifier secret has ${this.#secret.length} bytes; use at least ${SESSION_SECRET_MIN_BYTES} random bytes`);
    }
    this.#origin = new URL(options.origin);
    if (this.#origin.origin !== options.origin.replace(/\/$/, '')) {
      throw new RangeError(`SiweVerifier origin '${options.origin}' is not a bare origin; expected scheme://host[:port], e.g. '${this.#origin.origin}'`);
    }
    this.#options = {
      ...options,
      clockSkewMs: options.clockSkewMs ?? SIWE_CLOCK_SKEW_MS,
      maxOutstandingNonces: options.maxOutstandingNonces ?? SIWE_MAX_OUTSTANDING_NONCES,
    };
  }

  /** What a message must say to be accepted, for clients that build it. */
  get expected(): { domain: string; uri: string; chainId: number; statement?: string } {
    const o = this.#options;
    return { domain: o.domain, uri: this.#origin.origin, chainId: o.chainId, ...(o.statement !== undefined ? { statement: o.statement } : {}) };
  }

  /** A fresh nonce (32 hex digits) valid for nonceTtlMs. */
  async issueNonce(): Promise<string> {
    const { now, nonces, maxOutstandingNonces, nonceTtlMs } = this.#options;
    const at = now();
    await nonces.prune(at, maxOutstandingNonces - 1);
    const nonce = randomBytes(NONCE_BYTES).toString('hex');
    await nonces.issue(nonce, at + nonceTtlMs);
    return nonce;
  }

  /** Checks `message` and its `signature`; on success consumes the nonce and returns a session. */
  async verify(message: string, signature: string): Promise<SiweSession> {
    const now = this.#options.now();
    const fields = this.#checkFields(message, now);
    await this.#checkNonce(fields.nonce, now);
    if (typeof signature !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(signature)) {
      throw new SiweError('signature', `signature '${String(signature).slice(0, 140)}' is not 65 bytes of 0x-prefixed hex; pass what the wallet's personal_sign returned`);
    }
    let valid = false;
    try {
      valid = await verifyMessage({ address: fields.address, message, signature: signature as Hex });
    } catch (e) {
      throw new SiweError('signature', `signature ${signature.slice(0, 12)}… could not be recovered (${(e as Error).message.split('\n')[0]})`);
    }
    if (!valid) throw new SiweError('signature', `signature was not made by ${fields.address}, the address the message names; sign with that account`);

    // taken only now, atomically: exactly one concurrent verify of a nonce gets past here
    const after = this.#options.now();
    if (!(await this.#options.nonces.consume(fields.nonce, after))) {
      await this.#checkNonce(fields.nonce, after);
      throw this.#unknownNonce(fields.nonce);
    }
    // a session never outlives the message's own Expiration Time
    const expiresAt = Math.floor(Math.min(after + this.#options.sessionTtlMs, fields.expirationTime?.getTime() ?? Infinity));
    return { address: fields.address, expiresAt, sessionToken: this.#sign(fields.address, expiresAt) };
  }

  /** The address a session token was issued to; refuses tampered, malformed and expired tokens. */
  verifySession(token: string): Address {
    const parts = typeof token === 'string' ? token.split('.') : [];
    const [version, address, expiry, mac] = parts;
    if (parts.length !== 4 || version !== SESSION_TOKEN_VERSION || !isAddress(address) || !/^[0-9]{1,16}$/.test(expiry)) {
      throw new SiweError('session', `session token '${String(token).slice(0, 80)}' is malformed; expected ${SESSION_TOKEN_VERSION}.<address>.<expiresAt ms>.<mac>; sign in again`);
    }
    const expected = Buffer.from(this.#mac(address as Address, Number(expiry)), 'base64url');
    const given = Buffer.from(mac, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new SiweError('session', `session token for ${address} has a bad signature; it was altered or issued under another secret; sign in again`);
    }
    const now = this.#options.now();
    if (now >= Number(expiry)) {
      throw new SiweError('session', `session token for ${address} expired at ${new Date(Number(expiry)).toISOString()}, now is ${new Date(now).toISOString()}; sign in again`);
    }
    return address as Address;
  }

  #checkFields(message: string, now: number): SiweMessage & { issuedAt: Date } {
    if (typeof message !== 'string' || message.length > SIWE_MAX_MESSAGE_LENGTH) {
      throw new SiweError('format', `message is ${typeof message === 'string' ? `${message.length} characters` : typeof message}; expected an EIP-4361 string of at most ${SIWE_MAX_MESSAGE_LENGTH}`);
    }
    const parsed = parseSiweMessage(message);
    for (const field of ['domain', 'address', 'uri', 'version', 'chainId', 'nonce', 'issuedAt'] as const) {
      if (parsed[field] === undefined) throw new SiweError('format', `message has no ${field}; build it with createSiweMessage from viem/siwe`);
    }
    const fields = parsed as SiweMessage & { issuedAt: Date };
    // The bytes signed must be exactly the bytes parsed: no trailing lines the parser skipped.
    let canonical: string;
    try {
      canonical = createSiweMessage(fields);
    } catch (e) {
      throw new SiweError('format', `message has an invalid field: ${(e as Error).message.split('\n')[0]}`);
    }
    if (canonical !== message) {
      throw new SiweError('format', `message is not in the canonical EIP-4361 form createSiweMessage writes (ISO dates with milliseconds, no extra lines); expected:\n${canonical}`);
    }
    const o = this.#options;
    if (fields.domain !== o.domain) throw new SiweError('domain', `message is for domain '${fields.domain}', expected '${o.domain}'`);
    if (fields.scheme !== undefined && `${fields.scheme}:` !== this.#origin.protocol) {
      throw new SiweError('domain', `message names scheme '${fields.scheme}', expected '${this.#origin.protocol.slice(0, -1)}' (from origin ${this.#origin.origin})`);
    }
    if (uriOrigin(fields.uri) !== this.#origin.origin) throw new SiweError('uri', `message URI '${fields.uri}' has origin '${uriOrigin(fields.uri)}', expected '${this.#origin.origin}'`);
    if (fields.chainId !== o.chainId) throw new SiweError('chain', `message is for chain ${fields.chainId}, expected ${o.chainId}; switch the wallet's network`);
    if (o.statement !== undefined && fields.statement !== o.statement) {
      throw new SiweError('statement', `message statement is ${JSON.stringify(fields.statement ?? null)}, expected ${JSON.stringify(o.statement)}`);
    }
    const issued = fields.issuedAt.getTime();
    if (issued > now + o.clockSkewMs) {
      throw new SiweError('issued-at', `message was issued at ${iso(issued)}, ${issued - now} ms after now (${iso(now)}); more than the allowed skew of ${o.clockSkewMs} ms; check the client's clock`);
    }
    if (now - issued > o.maxAgeMs) {
      throw new SiweError('issued-at', `message was issued at ${iso(issued)}, ${now - issued} ms ago; at most ${o.maxAgeMs} ms is accepted; sign a fresh message`);
    }
    if (fields.expirationTime && now >= fields.expirationTime.getTime()) {
      throw new SiweError('expired', `message expired at ${iso(fields.expirationTime.getTime())}, now is ${iso(now)}; sign a fresh message`);
    }
    if (fields.notBefore && now < fields.notBefore.getTime()) {
      throw new SiweError('not-before', `message is not valid before ${iso(fields.notBefore.getTime())}, now is ${iso(now)}`);
    }
    return { ...fields, address: getAddress(fields.address) };
  }

  /** Refuses a nonce that is not outstanding or has expired, without taking it. */
  async #checkNonce(nonce: string, now: number): Promise<void> {
    const expiresAt = await this.#options.nonces.expiryOf(nonce);
    if (expiresAt === null) throw this.#unknownNonce(nonce);
    if (now >= expiresAt) {
      throw new SiweError('nonce', `nonce '${nonce}' expired at ${iso(expiresAt)} (TTL ${this.#options.nonceTtlMs} ms); request a new nonce`);
    }
  }

  #unknownNonce(nonce: string): SiweError {
    return new SiweError('nonce', `nonce '${nonce}' was not issued by this server or was already used; request a new nonce`);
  }

  #sign(address: Address, expiresAt: number): string {
    return `${SESSION_TOKEN_VERSION}.${address}.${expiresAt}.${this.#mac(address, expiresAt)}`;
  }

  #mac(address: Address, expiresAt: number): string {
    return createHmac('sha256', this.#secret).update(`openshard-session:${SESSION_TOKEN_VERSION}\n${address}\n${expiresAt}`).digest('base64url');
  }
}

function uriOrigin(uri: string): string {
  try {
    return new URL(uri).origin;
  } catch {
    return '(not a URL)';
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
