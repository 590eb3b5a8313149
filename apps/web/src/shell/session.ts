/** The wallet session the Earnings page signed in with; the Contribute page's volunteer uses it. */
export interface WalletSession {
  address: string;
  sessionToken: string;
  /** ms since the Unix epoch. */
  expiresAt: number;
}

export const SESSION_KEY = 'openshard.session';

/** This tab's session, or null when there is none or it has expired. */
export function currentSession(now = Date.now()): WalletSession | null {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null') as WalletSession | null;
    return s && typeof s.sessionToken === 'string' && typeof s.address === 'string' && s.expiresAt > now ? s : null;
  } catch {
    return null;
  }
}
