import { beforeEach, describe, expect, test } from 'vitest';
import { privateKeyToAccount } from 'viem/accounts';
import { createSiweMessage } from 'viem/siwe';
import type { SiweMessage } from 'viem/siwe';
import { MemoryNonceStore, SiweError, SiweVerifier } from '../src/index.ts';
import type { SiweErrorCode } from '../src/index.ts';

// anvil's first two dev accounts (mnemonic "test test … junk"), 0xf39F… and 0x7099…
const alice = privateKeyToAccount('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
const bob = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');

const T0 = Date.parse('2025-06-01T12:00:00.000Z');
const MINUTE = 60_000;
const STATEMENT = 'Sign in to OpenShard to see and claim your earnings.';

describe('SIWE', () => {
  let now = T0;
  let verifier: SiweVerifier;
  beforeEach(() => {
    now = T0;
    verifier = new SiweVerifier({
      domain: 'openshard.example',
      origin: 'https://openshard.example',
      chainId: 31337,
      statement: STATEMENT,
      maxAgeMs: 5 * MINUTE,
      nonceTtlMs: 10 * MINUTE,
      sessionTtlMs: 60 * MINUTE,
      secret: 'a test secret of at least thirty-two bytes',
      now: () => now,
      nonces: new MemoryNonceStore(),
    });
  });

  const message = async (fields: Partial<SiweMessage> = {}, account = alice) =>
    createSiweMessage({
      address: account.address,
      domain: 'openshard.example',
      uri: 'https://openshard.example/earnings',
      version: '1',
      chainId: 31337,
      issuedAt: new Date(now),
      statement: STATEMENT,
      ...fields,
      nonce: fields.nonce ?? (await verifier.issueNonce()),
    });

  async function refused(text: string, signature: Promise<string> | string, code: SiweErrorCode): Promise<SiweError> {
    const error = await verifier.verify(text, await signature).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SiweError);
    expect((error as SiweError).code, (error as Error).message).toBe(code);
    return error as SiweError;
  }

  test('behavior: a fresh message signed by its address is accepted and yields a session for that address', async () => {
    const text = await message();
    const session = await verifier.verify(text, await alice.signMessage({ message: text }));
    expect(session.address).toBe(alice.address);
    expect(session.expiresAt).toBe(T0 + 60 * MINUTE);
    now += 59 * MINUTE;
    expect(verifier.verifySession(session.sessionToken)).toBe(alice.address);
  });

  test('behavior: a session ends no later than the message expiration time', async () => {
    const text = await message({ expirationTime: new Date(T0 + 15 * MINUTE) });
    const session = await verifier.verify(text, await alice.signMessage({ message: text }));
    expect(session.expiresAt).toBe(T0 + 15 * MINUTE);
  });

  test('error: a message for another domain, URI origin, chain or statement is refused with its code', async () => {
    const cases: [Partial<SiweMessage>, SiweErrorCode, string][] = [
      [{ domain: 'evil.example' }, 'domain', "message is for domain 'evil.example', expected 'openshard.example'"],
      [{ scheme: 'http' }, 'domain', "message names scheme 'http', expected 'https'"],
      [{ uri: 'https://evil.example/earnings' }, 'uri', "message URI 'https://evil.example/earnings' has origin 'https://evil.example', expected 'https://openshard.example'"],
      [{ uri: 'http://openshard.example/earnings' }, 'uri', "has origin 'http://openshard.example'"],
      [{ chainId: 1 }, 'chain', 'message is for chain 1, expected 31337'],
      [{ statement: 'Transfer everything' }, 'statement', `message statement is "Transfer everything", expected "${STATEMENT}"`],
    ];
    for (const [fields, code, text] of cases) {
      const m = await message(fields);
      const error = await refused(m, alice.signMessage({ message: m }), code);
      expect(error.message).toContain(text);
    }
  });

  test('error: a nonce is accepted once; reused, unknown and expired nonces are refused', async () => {
    const text = await message();
    const signature = await alice.signMessage({ message: text });
    await verifier.verify(text, signature);
    expect((await refused(text, signature, 'nonce')).message).toMatch(/was not issued by this server or was already used/);

    const unknown = await message({ nonce: 'a1b2c3d4e5f6a7b8' });
    await refused(unknown, alice.signMessage({ message: unknown }), 'nonce');

    const late = await message();
    now += 10 * MINUTE; // nonce TTL
    const lateSigned = await message({ nonce: late.match(/Nonce: (\w+)/)![1], issuedAt: new Date(now) });
    expect((await refused(lateSigned, alice.signMessage({ message: lateSigned }), 'nonce')).message).toMatch(/expired at 2025-06-01T12:10:00.000Z/);
  });

  test('behavior: a refused attempt does not burn the nonce; two concurrent sign-ins with one nonce give one session', async () => {
    const text = await message();
    await refused(text, bob.signMessage({ message: text }), 'signature'); // someone else tries alice's nonce first
    const signature = await alice.signMessage({ message: text });
    const results = await Promise.allSettled([verifier.verify(text, signature), verifier.verify(text, signature)]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((rejected.reason as SiweError).code).toBe('nonce');
  });

  test('behavior: beyond maxOutstandingNonces the oldest nonces are forgotten', async () => {
    verifier = new SiweVerifier({
      domain: 'openshard.example',
      origin: 'https://openshard.example',
      chainId: 31337,
      statement: STATEMENT,
      maxAgeMs: 5 * MINUTE,
      nonceTtlMs: 10 * MINUTE,
      sessionTtlMs: 60 * MINUTE,
      secret: 'x'.repeat(32),
      now: () => now,
      nonces: new MemoryNonceStore(),
      maxOutstandingNonces: 2,
    });
    const [oldest, middle, newest] = [await message(), await message(), await message()];
    expect((await refused(oldest, alice.signMessage({ message: oldest }), 'nonce')).message).toMatch(/was not issued by this server/);
    for (const text of [middle, newest]) await expect(verifier.verify(text, await alice.signMessage({ message: text }))).resolves.toMatchObject({ address: alice.address });
  });

  test('error: expired, not-yet-valid, stale and future messages are refused with their codes', async () => {
    const expired = await message({ expirationTime: new Date(T0 - 1) });
    expect((await refused(expired, alice.signMessage({ message: expired }), 'expired')).message).toContain('message expired at 2025-06-01T11:59:59.999Z, now is 2025-06-01T12:00:00.000Z');
    const early = await message({ notBefore: new Date(T0 + MINUTE) });
    await refused(early, alice.signMessage({ message: early }), 'not-before');
    const stale = await message({ issuedAt: new Date(T0 - 5 * MINUTE - 1) });
    expect((await refused(stale, alice.signMessage({ message: stale }), 'issued-at')).message).toContain('300001 ms ago; at most 300000 ms');
    const future = await message({ issuedAt: new Date(T0 + 2 * MINUTE) });
    expect((await refused(future, alice.signMessage({ message: future }), 'issued-at')).message).toContain('120000 ms after now');
    const skewed = await message({ issuedAt: new Date(T0 + 30_000) }); // within the clock skew
    await expect(verifier.verify(skewed, await alice.signMessage({ message: skewed }))).resolves.toMatchObject({ address: alice.address });
  });

  test('error: a signature by another address, or not a signature, is refused with code signature', async () => {
    const text = await message();
    expect((await refused(text, bob.signMessage({ message: text }), 'signature')).message).toContain(`not made by ${alice.address}`);
    const bobs = await message({}, bob);
    await refused(bobs, alice.signMessage({ message: bobs }), 'signature');
    await refused(text, '0x1234', 'signature');
    await refused(text, `0x${'00'.repeat(65)}`, 'signature');
  });

  test('error: a message not in canonical form is refused with code format', async () => {
    const text = await message();
    const extra = `${text}\nGift: https://evil.example`; // a line the parser would skip but the wallet shows
    await refused(extra, alice.signMessage({ message: extra }), 'format');
    const lowerAddress = text.replace(alice.address, alice.address.toLowerCase());
    await refused(lowerAddress, alice.signMessage({ message: lowerAddress }), 'format');
    await refused('hello', alice.signMessage({ message: 'hello' }), 'format');
  });

  test('error: tampered, foreign and expired session tokens are refused with code session', async () => {
    const text = await message();
    const { sessionToken } = await verifier.verify(text, await alice.signMessage({ message: text }));
    const [v, address, expiry, mac] = sessionToken.split('.');
    const expect401 = (token: string, pattern: RegExp) => {
      let error: unknown;
      try {
        verifier.verifySession(token);
      } catch (e) {
        error = e;
      }
      expect((error as SiweError).code).toBe('session');
      expect((error as Error).message).toMatch(pattern);
    };
    expect401([v, bob.address, expiry, mac].join('.'), /bad signature/);
    expect401([v, address, String(Number(expiry) + 1), mac].join('.'), /bad signature/);
    expect401('not a token', /malformed/);
    const other = new SiweVerifier({
      domain: 'openshard.example',
      origin: 'https://openshard.example',
      chainId: 31337,
      maxAgeMs: 1,
      nonceTtlMs: 1,
      sessionTtlMs: 1,
      secret: 'x'.repeat(32),
      now: () => now,
      nonces: new MemoryNonceStore(),
    });
    expect(() => other.verifySession(sessionToken)).toThrow(/issued under another secret/);
    now = Number(expiry);
    expect401(sessionToken, /expired at 2025-06-01T13:00:00.000Z/);
  });

  test('error: a weak secret or a non-origin is refused at construction', () => {
    const base = {
      domain: 'openshard.example',
      origin: 'https://openshard.example',
      chainId: 1,
      maxAgeMs: 1,
      nonceTtlMs: 1,
      sessionTtlMs: 1,
      secret: 'x'.repeat(32),
      now: () => now,
      nonces: new MemoryNonceStore(),
    };
    expect(() => new SiweVerifier({ ...base, secret: 'short' })).toThrow('SiweVerifier secret has 5 bytes; use at least 32 random bytes');
    expect(() => new SiweVerifier({ ...base, origin: 'https://openshard.example/app' })).toThrow(/is not a bare origin/);
  });
});
