import type Database from 'better-sqlite3';
import type { EpochState, HolderAccount } from '@openshard/ownership';
import type { Address, Hex } from 'viem';

/** One closed epoch as stored: amounts are decimal strings of wei (BigInt). */
export interface EpochRecord {
  epoch: number;
  /** Receipts of rounds before this one are counted in it (and earlier epochs). */
  throughRound: number;
  /** Wei deposited into the distributor during the epoch, and in all as of its close. */
  revenue: bigint;
  totalDeposited: bigint;
  root: Hex;
  totalCumulative: bigint;
  /** The entitlement math's state after the epoch. */
  state: EpochState;
  /** StandardMerkleTree dump with every leaf: the proofs. */
  tree: string;
  createdAt: number;
  /** The publishRoot transaction once mined ('found-on-chain' when a crash lost its hash); null before. */
  publishedTx: Hex | 'found-on-chain' | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS epochs (
  run_id TEXT NOT NULL, epoch INTEGER NOT NULL, through_round INTEGER NOT NULL, revenue TEXT NOT NULL,
  total_deposited TEXT NOT NULL, root TEXT NOT NULL, total_cumulative TEXT NOT NULL, state TEXT NOT NULL,
  tree TEXT NOT NULL, created_at INTEGER NOT NULL, published_tx TEXT, PRIMARY KEY (run_id, epoch)
);
`;

interface StoredState {
  epoch: number;
  totalShares: string;
  accPerShare: string;
  carried: string;
  remainder: string;
  totalRevenue: string;
  holders: [Address, { shares: string; accrued: string; checkpoint: string }][];
}

export function encodeEpochState(s: EpochState): string {
  const stored: StoredState = {
    epoch: s.epoch, totalShares: String(s.totalShares), accPerShare: String(s.accPerShare), carried: String(s.carried),
    remainder: String(s.remainder), totalRevenue: String(s.totalRevenue),
    holders: [...s.holders].map(([a, h]) => [a, { shares: String(h.shares), accrued: String(h.accrued), checkpoint: String(h.checkpoint) }]),
  };
  return JSON.stringify(stored);
}

export function decodeEpochState(json: string): EpochState {
  const s = JSON.parse(json) as StoredState;
  return {
    epoch: s.epoch, totalShares: BigInt(s.totalShares), accPerShare: BigInt(s.accPerShare), carried: BigInt(s.carried),
    remainder: BigInt(s.remainder), totalRevenue: BigInt(s.totalRevenue),
    holders: new Map<Address, HolderAccount>(s.holders.map(([a, h]) => [a, { shares: BigInt(h.shares), accrued: BigInt(h.accrued), checkpoint: BigInt(h.checkpoint) }])),
  };
}

/**
 * Epochs in the coordinator's SQLite file. An epoch is written whole before its root is sent to
 * the chain, and marked published when the transaction is mined, so a crash in between leaves an
 * epoch to publish, never a root nobody can prove against.
 */
export class EpochStore {
  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
  }

  add(runId: string, e: EpochRecord): void {
    this.db.prepare(
      'INSERT INTO epochs (run_id, epoch, through_round, revenue, total_deposited, root, total_cumulative, state, tree, created_at, published_tx) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ).run(runId, e.epoch, e.throughRound, String(e.revenue), String(e.totalDeposited), e.root, String(e.totalCumulative), encodeEpochState(e.state), e.tree, e.createdAt, e.publishedTx);
  }

  markPublished(runId: string, epoch: number, tx: Hex | 'found-on-chain'): void {
    this.db.prepare('UPDATE epochs SET published_tx = ? WHERE run_id = ? AND epoch = ?').run(tx, runId, epoch);
  }

  latest(runId: string): EpochRecord | null {
    const row = this.db.prepare('SELECT * FROM epochs WHERE run_id = ? ORDER BY epoch DESC LIMIT 1').get(runId) as Record<string, string | number | null> | undefined;
    return row ? fromRow(row) : null;
  }

  /** The latest epoch whose root is on chain. */
  latestPublished(runId: string): EpochRecord | null {
    const row = this.db.prepare('SELECT * FROM epochs WHERE run_id = ? AND published_tx IS NOT NULL ORDER BY epoch DESC LIMIT 1').get(runId) as Record<string, string | number | null> | undefined;
    return row ? fromRow(row) : null;
  }

  unpublished(runId: string): EpochRecord[] {
    return (this.db.prepare('SELECT * FROM epochs WHERE run_id = ? AND published_tx IS NULL ORDER BY epoch').all(runId) as Record<string, string | number | null>[]).map(fromRow);
  }
}

function fromRow(r: Record<string, string | number | null>): EpochRecord {
  return {
    epoch: r.epoch as number, throughRound: r.through_round as number, revenue: BigInt(r.revenue as string), totalDeposited: BigInt(r.total_deposited as string),
    root: r.root as Hex, totalCumulative: BigInt(r.total_cumulative as string), state: decodeEpochState(r.state as string), tree: r.tree as string,
    createdAt: r.created_at as number, publishedTx: (r.published_tx as EpochRecord['publishedTx']) ?? null,
  };
}
