import type Database from 'better-sqlite3';
import type { NonceStore } from '../stores.ts';

export const NONCE_SCHEMA = `
CREATE TABLE IF NOT EXISTS siwe_nonces (nonce TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS siwe_nonces_by_expiry ON siwe_nonces (expires_at);
`;

/** Sign-in nonces in the coordinator's file, so a nonce issued before a restart is accepted after it. */
export class SqliteNonceStore implements NonceStore {
  constructor(private readonly db: Database.Database) {
    db.exec(NONCE_SCHEMA);
  }

  async issue(nonce: string, expiresAt: number): Promise<void> {
    this.db.prepare('INSERT INTO siwe_nonces (nonce, expires_at) VALUES (?, ?)').run(nonce, expiresAt);
  }

  async expiryOf(nonce: string): Promise<number | null> {
    const row = this.db.prepare('SELECT expires_at FROM siwe_nonces WHERE nonce = ?').get(nonce) as { expires_at: number } | undefined;
    return row?.expires_at ?? null;
  }

  async consume(nonce: string, now: number): Promise<boolean> {
    // one statement: of two concurrent consumers (processes too), exactly one deletes the row
    return this.db.prepare('DELETE FROM siwe_nonces WHERE nonce = ? AND expires_at > ?').run(nonce, now).changes === 1;
  }

  async prune(now: number, keep: number): Promise<void> {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM siwe_nonces WHERE expires_at <= ?').run(now);
      // rowids grow with each insert: one index lookup, where counting the rows would read them all
      this.db.prepare('DELETE FROM siwe_nonces WHERE rowid <= (SELECT MAX(rowid) FROM siwe_nonces) - ?').run(keep);
    })();
  }
}
