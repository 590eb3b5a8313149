import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { renewalDelay, retryDelay, SESSION_RENEW_MARGIN_MS, SessionKeeper, SIGN_IN_MAX_FAILURES, SIGN_IN_RETRY_MS } from '../src/session-keeper.ts';
import type { SignInResult } from '../src/sign-in.ts';

const ADDRESS = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const DAY_MS = 24 * 60 * 60_000;

/** A keeper on fake timers whose sign-ins answer with `answers` in turn (an Error is a failed sign-in), each session lasting `ttlMs`. */
function keeper(ttlMs: number, answers: ('ok' | Error)[] = []) {
  const sessions: string[] = [];
  const said: string[] = [];
  const gaveUp: string[] = [];
  let signIns = 0;
  const k = new SessionKeeper({
    signIn: async (): Promise<SignInResult> => {
      const answer = answers[signIns] ?? 'ok';
      signIns += 1;
      if (answer instanceof Error) throw answer;
      return { address: ADDRESS, sessionToken: `token-${signIns}`, expiresAt: Date.now() + ttlMs };
    },
    onSession: (s) => sessions.push(s.sessionToken),
    say: (text) => said.push(text),
    giveUp: (reason) => gaveUp.push(reason),
  });
  return { k, sessions, said, gaveUp, signIns: () => signIns };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(0);
});
afterEach(() => vi.useRealTimers());

describe('SessionKeeper (fake timers, no coordinator)', () => {
  test('behavior: it renews a day-long session ten minutes before it expires, and a short one with a fifth of its life left', () => {
    expect(renewalDelay(DAY_MS, 0)).toBe(DAY_MS - SESSION_RENEW_MARGIN_MS);
    expect(renewalDelay(5_000, 0)).toBe(4_000);
    expect(renewalDelay(5_000, 6_000)).toBe(SIGN_IN_RETRY_MS); // past its expiry on this clock: soon, never at once
    expect([1, 2, 3, 8, 20].map(retryDelay)).toEqual([1_000, 2_000, 4_000, 120_000, 120_000]);
  });

  test('behavior: the new session is handed on before the old one expires, again and again', async () => {
    const { k, sessions, said } = keeper(5_000);
    expect((await k.start()).sessionToken).toBe('token-1');
    await vi.advanceTimersByTimeAsync(3_999);
    expect(sessions).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(sessions).toEqual(['token-2']);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(sessions).toEqual(['token-2', 'token-3']);
    expect(said[0]).toMatch(/^signed in again as 0x\w+ until 1970-01-01T00:00:09\.000Z \(the session was to expire at 1970-01-01T00:00:05\.000Z\)$/);
    k.stop();
  });

  test('behavior: a refused session signs in again at once; refusals in a row back off, and past the limit it gives up saying why', async () => {
    const { k, sessions, said, gaveUp } = keeper(DAY_MS);
    await k.start();
    k.refused('session token expired');
    await vi.advanceTimersByTimeAsync(0);
    expect(sessions).toEqual(['token-2']);
    // each fresh session refused again: 1 s, 2 s, 4 s, 8 s, 16 s apart
    for (let i = 1; i < SIGN_IN_MAX_FAILURES; i++) {
      k.refused('bad signature');
      await vi.advanceTimersByTimeAsync(retryDelay(i) - 1);
      expect(sessions).toHaveLength(i);
      await vi.advanceTimersByTimeAsync(1);
      expect(sessions).toHaveLength(i + 1);
    }
    expect(said.at(-1)).toMatch(/^signed in again as/);
    k.refused('bad signature');
    expect(gaveUp).toEqual([`the coordinator refused the session (bad signature); ${SIGN_IN_MAX_FAILURES} tries in a row failed, giving up`]);
    await vi.advanceTimersByTimeAsync(DAY_MS);
    expect(sessions).toHaveLength(SIGN_IN_MAX_FAILURES);
  });

  test('behavior: a session the coordinator took (joined) starts the count of failures afresh', async () => {
    const { k, sessions, gaveUp } = keeper(DAY_MS);
    await k.start();
    for (let i = 0; i < 3 * SIGN_IN_MAX_FAILURES; i++) {
      k.refused('expired');
      await vi.advanceTimersByTimeAsync(0);
      k.joined();
    }
    expect(sessions).toHaveLength(3 * SIGN_IN_MAX_FAILURES);
    expect(gaveUp).toEqual([]);
  });

  test('error: sign-ins that fail after a refusal are retried, backing off, and count toward giving up', async () => {
    const down = new Error('http://127.0.0.1:1/siwe/nonce answered 503');
    const { k, sessions, said, gaveUp } = keeper(DAY_MS, ['ok', down, down, 'ok']);
    await k.start();
    k.refused('expired');
    await vi.advanceTimersByTimeAsync(0);
    expect(said.at(-1)).toBe(`sign-in failed (${down.message}); signing in again in 1.0 s`);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(said.at(-1)).toBe(`sign-in failed (${down.message}); signing in again in 2.0 s`);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(sessions).toEqual(['token-4']);
    expect(gaveUp).toEqual([]);
  });

  test('error: a renewal that fails is retried while the session lasts, then left to the refusal', async () => {
    const down = new Error('fetch failed');
    const { k, sessions, said, signIns } = keeper(
      10_000,
      [...Array(10)].map((_, i) => (i === 0 ? 'ok' : down)),
    );
    await k.start();
    await vi.advanceTimersByTimeAsync(8_000 + 1_000 + 2_000);
    // renewals at 8 s and 9 s failed; the next would come at 11 s, after the expiry at 10 s
    expect(signIns()).toBe(3);
    expect(said.at(-1)).toBe('could not renew the session, which expires at 1970-01-01T00:00:10.000Z: fetch failed; signing in again once the coordinator refuses it');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(signIns()).toBe(3);
    k.refused('expired');
    await vi.advanceTimersByTimeAsync(0);
    expect(signIns()).toBe(4);
    expect(sessions).toEqual([]);
  });
});
