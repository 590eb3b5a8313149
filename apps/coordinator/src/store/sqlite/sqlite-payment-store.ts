import type Database from 'better-sqlite3';
import type { Hex } from 'viem';
import type { PaymentStore, QuoteRecord, QuoteState } from '../stores.ts';

export const PAYMENT_SCHEMA = `
CREATE TABLE IF NOT EXISTS quotes (
  request_id TEXT PRIMARY KEY,
  model TEXT NOT NULL,
  tokens INTEGER NOT NULL,
  amount TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('quoted', 'serving', 'served')),
  served_at INTEGER,
  paid TEXT,
  completion_tokens INTEGER
);
CREATE INDEX IF NOT EXISTS quotes_by_served_at ON quotes (served_at);
CREATE INDEX IF NOT EXISTS quotes_by_expiry ON quotes (state, expires_at);
`;

interface QuoteRow {
  request_id: string;
  model: string;
  tokens: number;
  amount: string;
  expires_at: number;
  created_at: number;
  state: QuoteState;
  served_at: number | null;
  paid: string | null;
  completion_tokens: number | null;
}

/** Quotes in the coordinator's file: a request id is served once, also after a restart. */
export class SqlitePaymentStore implements PaymentStore {
  constructor(private readonly db: Database.Database) {
    db.exec(PAYMENT_SCHEMA);
    // a generation cut by a crash was not served: its payment stays good
    db.prepare("UPDATE quotes SET state = 'quoted' WHERE state = 'serving'").run();
  }

  async addQuote(q: QuoteRecord): Promise<void> {
    this.db
      .prepare('INSERT INTO quotes (request_id, model, tokens, amount, expires_at, created_at, state) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(q.requestId.toLowerCase(), q.model, q.tokens, q.amount.toString(), q.expiresAt, q.createdAt, q.state);
  }

  async quote(requestId: Hex): Promise<QuoteRecord | null> {
    const row = this.db.prepare('SELECT * FROM quotes WHERE request_id = ?').get(requestId.toLowerCase()) as QuoteRow | undefined;
    return row ? fromRow(row) : null;
  }

  async startServing(requestId: Hex): Promise<boolean> {
    return this.db.prepare("UPDATE quotes SET state = 'serving' WHERE request_id = ? AND state = 'quoted'").run(requestId.toLowerCase()).changes === 1;
  }

  async served(requestId: Hex, paid: bigint, completionTokens: number, at: number): Promise<void> {
    this.db
      .prepare("UPDATE quotes SET state = 'served', served_at = ?, paid = ?, completion_tokens = ? WHERE request_id = ? AND state = 'serving'")
      .run(at, paid.toString(), completionTokens, requestId.toLowerCase());
  }

  async unserved(requestId: Hex): Promise<void> {
    this.db.prepare("UPDATE quotes SET state = 'quoted' WHERE request_id = ? AND state = 'serving'").run(requestId.toLowerCase());
  }

  async servedBetween(from: number, to: number): Promise<{ requests: number; paid: bigint }> {
    const rows = this.db.prepare("SELECT paid FROM quotes WHERE state = 'served' AND served_at >= ? AND served_at < ?").all(from, to) as { paid: string }[];
    return { requests: rows.length, paid: rows.reduce((a, r) => a + BigInt(r.paid), 0n) };
  }

  async prune(before: number): Promise<void> {
    this.db.prepare("DELETE FROM quotes WHERE state = 'quoted' AND expires_at < ?").run(before);
  }
}

function fromRow(r: QuoteRow): QuoteRecord {
  return {
    requestId: r.request_id as Hex,
    model: r.model,
    tokens: r.tokens,
    amount: BigInt(r.amount),
    expiresAt: r.expires_at,
    createdAt: r.created_at,
    state: r.state,
    servedAt: r.served_at,
    paid: r.paid === null ? null : BigInt(r.paid),
    completionTokens: r.completion_tokens,
  };
}
