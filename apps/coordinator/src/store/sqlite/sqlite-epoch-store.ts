import type Database from 'better-sqlite3';
import type { Hex } from 'viem';
import { decodeEpochState, encodeEpochState } from '../epoch-state-json.ts';
import type { EpochPublication, EpochRecord, EpochStore } from '../stores.ts';

/** Amounts are decimal strings of wei: SQLite integers stop at 2^63. */
export const EPOCH_SCHEMA = `
CREATE TABLE IF NOT EXISTS epochs (
  run_id TEXT NOT NULL, epoch INTEGER NOT NULL, through_round INTEGER NOT NULL, revenue TEXT NOT NULL,
  total_deposited TEXT NOT NULL, root TEXT NOT NULL, total_cumulative TEXT NOT NULL, state TEXT NOT NULL,
  tree TEXT NOT NULL, created_at INTEGER NOT NULL, published_tx TEXT, PRIMARY KEY (run_id, epoch)
);
`;

type Row = Record<string, string | number | null>;

export class SqliteEpochStore implements EpochStore {
  constructor(private readonly db: Database.Database) {
    db.exec(EPOCH_SCHEMA);
  }

  async add(runId: string, e: EpochRecord): Promise<void> {
    this.db
      .prepare('INSERT INTO epochs (run_id, epoch, through_round, revenue, total_deposited, root, total_cumulative, state, tree, created_at, published_tx) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(runId, e.epoch, e.throughRound, String(e.revenue), String(e.totalDeposited), e.root, String(e.totalCumulative), encodeEpochState(e.state), e.tree, e.createdAt, e.publishedTx);
  }

  async markPublished(runId: string, epoch: number, tx: EpochPublication): Promise<void> {
    this.db.prepare('UPDATE epochs SET published_tx = ? WHERE run_id = ? AND epoch = ?').run(tx, runId, epoch);
  }

  async latest(runId: string): Promise<EpochRecord | null> {
    const row = this.db.prepare('SELECT * FROM epochs WHERE run_id = ? ORDER BY epoch DESC LIMIT 1').get(runId) as Row | undefined;
    return row ? fromRow(row) : null;
  }

  async all(runId: string): Promise<EpochRecord[]> {
    return (this.db.prepare('SELECT * FROM epochs WHERE run_id = ? ORDER BY epoch').all(runId) as Row[]).map(fromRow);
  }

  async latestPublished(runId: string): Promise<EpochRecord | null> {
    const row = this.db.prepare('SELECT * FROM epochs WHERE run_id = ? AND published_tx IS NOT NULL ORDER BY epoch DESC LIMIT 1').get(runId) as Row | undefined;
    return row ? fromRow(row) : null;
  }

  async unpublished(runId: string): Promise<EpochRecord[]> {
    return (this.db.prepare('SELECT * FROM epochs WHERE run_id = ? AND published_tx IS NULL ORDER BY epoch').all(runId) as Row[]).map(fromRow);
  }
}

function fromRow(r: Row): EpochRecord {
  return {
    epoch: r.epoch as number,
    throughRound: r.through_round as number,
    revenue: BigInt(r.revenue as string),
    totalDeposited: BigInt(r.total_deposited as string),
    root: r.root as Hex,
    totalCumulative: BigInt(r.total_cumulative as string),
    state: decodeEpochState(r.state as string),
    tree: r.tree as string,
    createdAt: r.created_at as number,
    publishedTx: (r.published_tx as EpochPublication | null) ?? null,
  };
}
