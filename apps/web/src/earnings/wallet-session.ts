import type { SignInResult } from '@openshard/volunteer';
import { SESSION_KEY, type WalletSession } from '../shell/session.ts';

/** How this tab's sign-in relates to the connected wallet. */
export type SessionState =
  | { kind: 'none' }
  | { kind: 'signed-in'; session: WalletSession }
  /** Past expiresAt: the coordinator refuses it, so new work would accrue nothing. */
  | { kind: 'expired'; session: WalletSession }
  /** Signed in as another address than the connected wallet: new work accrues to that one. */
  | { kind: 'other-address'; session: WalletSession };

/** The stored session even when expired (currentSession() hides those; this page explains them). */
export function storedSession(): WalletSession | null {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null') as WalletSession | null;
    return s && typeof s.address === 'string' && typeof s.sessionToken === 'string' && typeof s.expiresAt === 'number' ? s : null;
  } catch {
    return null;
  }
}

/** Saves a sign-in where the Contribute page looks for it when it starts a volunteer. */
export function storeSession(result: SignInResult): WalletSession {
  const session: WalletSession = { address: result.address, sessionToken: result.sessionToken, expiresAt: result.expiresAt };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  return session;
}

export function sessionState(session: WalletSession | null, connected: string | undefined, now: number): SessionState {
  if (!session) return { kind: 'none' };
  if (session.expiresAt <= now) return { kind: 'expired', session };
  if (connected && connected.toLowerCase() !== session.address.toLowerCase()) return { kind: 'other-address', session };
  return { kind: 'signed-in', session };
}
