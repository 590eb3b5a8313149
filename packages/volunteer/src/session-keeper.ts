import type { SignInResult } from './sign-in.ts';

/** Sign in again this long before the session expires (ms)… */
export const SESSION_RENEW_MARGIN_MS = 10 * 60_000;
/** …or, for a session shorter than five margins, once this fraction of its life is left. */
const SESSION_RENEW_FRACTION = 0.2;
/** A failed sign-in is tried again after this long (ms), twice as long after each further failure… */
export const SIGN_IN_RETRY_MS = 1_000;
/** …up to this long (ms). */
export const SIGN_IN_RETRY_MAX_MS = 2 * 60_000;
/** Failures in a row after a refused session (sign-ins that failed, fresh sessions refused again) before it gives up. */
export const SIGN_IN_MAX_FAILURES = 6;

/** How long from `now` until a session that expires at `expiresAt` is renewed (ms; both Unix ms). */
export function renewalDelay(expiresAt: number, now: number): number {
  const left = expiresAt - now;
  // never at once: a session already past its expiry on this clock (skew) must not renew in a loop
  return Math.max(SIGN_IN_RETRY_MS, left - Math.min(SESSION_RENEW_MARGIN_MS, left * SESSION_RENEW_FRACTION));
}

/** How long to wait before the next try after `failures` failures in a row (ms). */
export function retryDelay(failures: number): number {
  return failures <= 0 ? 0 : Math.min(SIGN_IN_RETRY_MAX_MS, SIGN_IN_RETRY_MS * 2 ** (failures - 1));
}

export interface SessionKeeperOptions {
  /** One Sign-In with Ethereum (`signIn(url, account)`). */
  signIn: () => Promise<SignInResult>;
  /** A fresh session, for `VolunteerClient.setSession`. */
  onSession: (s: SignInResult) => void;
  /** What it does and why, in words. */
  say: (text: string) => void;
  /** It stopped trying: the volunteer cannot get a session the coordinator takes. */
  giveUp: (reason: string) => void;
  now?: () => number;
}

/**
 * Keeps a volunteer signed in, without its owner: signs in again shortly before the session
 * expires (the coordinator checks a session only at hello, so a fresh one is ready for the next
 * reconnect), and at once when the coordinator refuses one (an expiry it slept through, a
 * coordinator with a new session secret). Retries back off, each saying why; after
 * SIGN_IN_MAX_FAILURES failures in a row following a refusal it gives up. A renewal that fails
 * while the session is still good is retried until the session expires, then left to the refusal.
 */
export class SessionKeeper {
  #timer: ReturnType<typeof setTimeout> | null = null;
  #expiresAt = 0;
  /** Failures since the coordinator last took a session; a refusal counts as one. */
  #failures = 0;
  #renewFailures = 0;
  #stopped = false;
  readonly #now: () => number;

  constructor(private readonly o: SessionKeeperOptions) {
    this.#now = o.now ?? Date.now;
  }

  /** The first sign-in; a failure is thrown (nothing is running yet to keep going). */
  async start(): Promise<SignInResult> {
    const s = await this.o.signIn();
    this.#signedIn(s);
    return s;
  }

  /** The coordinator took the session (a 'joined' event). */
  joined(): void {
    this.#failures = 0;
  }

  /** The coordinator refused the session (a 'refused' event with code 'session') and dropped the connection. */
  refused(message: string): void {
    this.#fail('the coordinator refused the session', message);
  }

  stop(): void {
    this.#stopped = true;
    this.#clear();
  }

  /** A new session from signing in again: said, handed on, its renewal scheduled. */
  #adopt(s: SignInResult, note = ''): void {
    if (this.#stopped) return;
    this.o.say(`signed in again as ${s.address} until ${iso(s.expiresAt)}${note}`);
    this.o.onSession(s);
    this.#signedIn(s);
  }

  #signedIn(s: SignInResult): void {
    this.#expiresAt = s.expiresAt;
    this.#renewFailures = 0;
    this.#schedule(renewalDelay(s.expiresAt, this.#now()), () => this.#renew());
  }

  async #renew(): Promise<void> {
    try {
      this.#adopt(await this.o.signIn(), ` (the session was to expire at ${iso(this.#expiresAt)})`);
    } catch (e) {
      if (this.#stopped) return;
      const wait = retryDelay(++this.#renewFailures);
      const why = `could not renew the session, which expires at ${iso(this.#expiresAt)}: ${(e as Error).message}`;
      if (this.#now() + wait >= this.#expiresAt) return this.o.say(`${why}; signing in again once the coordinator refuses it`);
      this.o.say(`${why}; trying again in ${seconds(wait)}`);
      this.#schedule(wait, () => this.#renew());
    }
  }

  /**
   * After a refusal: signs in again at once the first time, then backing off; gives up past
   * SIGN_IN_MAX_FAILURES. `detail` (the refusal's own words, already logged) is repeated only then.
   */
  #fail(why: string, detail?: string): void {
    if (this.#stopped) return;
    this.#failures += 1;
    if (this.#failures > SIGN_IN_MAX_FAILURES) {
      this.stop();
      return this.o.giveUp(`${why}${detail ? ` (${detail})` : ''}; ${SIGN_IN_MAX_FAILURES} tries in a row failed, giving up`);
    }
    const wait = retryDelay(this.#failures - 1);
    this.o.say(`${why}; signing in again${wait ? ` in ${seconds(wait)}` : ''}`);
    this.#schedule(wait, () => this.#signInAgain());
  }

  async #signInAgain(): Promise<void> {
    try {
      this.#adopt(await this.o.signIn());
    } catch (e) {
      this.#fail(`sign-in failed (${(e as Error).message})`);
    }
  }

  #schedule(ms: number, then: () => Promise<void>): void {
    this.#clear();
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void then();
    }, ms);
  }

  #clear(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
const seconds = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
