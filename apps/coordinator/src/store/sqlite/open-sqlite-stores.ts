import Database from 'better-sqlite3';
import type { Stores } from '../stores.ts';
import { SqliteEpochStore } from './sqlite-epoch-store.ts';
import { SqliteNonceStore } from './sqlite-nonce-store.ts';
import { SqlitePaymentStore } from './sqlite-payment-store.ts';
import { SqliteRunStore } from './sqlite-run-store.ts';

/**
 * Every store in one SQLite file over one connection (WAL, synchronous FULL: a committed round
 * survives a power cut). Each store creates its own tables. The connection stays in here: callers
 * see only the store interfaces, so another engine can take SQLite's place without touching them.
 */
export async function openSqliteStores(path: string): Promise<Stores> {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  try {
    return {
      runs: new SqliteRunStore(db),
      epochs: new SqliteEpochStore(db),
      nonces: new SqliteNonceStore(db),
      payments: new SqlitePaymentStore(db),
      close: async () => {
        db.close();
      },
    };
  } catch (e) {
    db.close();
    throw e;
  }
}
