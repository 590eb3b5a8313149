import type Database from 'better-sqlite3';
import type { BanRecord, Contributors, MetricPoint, RoundRecord, RunStore, StoredRun, TaskRecord, WorkReceipt } from '../stores.ts';

export const RUN_SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY, spec TEXT NOT NULL, created_at INTEGER NOT NULL,
  checkpoint_round INTEGER NOT NULL DEFAULT 0, checkpoint TEXT
);
CREATE TABLE IF NOT EXISTS rounds (
  run_id TEXT NOT NULL REFERENCES runs(id), round INTEGER NOT NULL, loss REAL NOT NULL,
  tokens INTEGER NOT NULL, closed_at INTEGER NOT NULL, PRIMARY KEY (run_id, round)
);
CREATE TABLE IF NOT EXISTS tasks (
  run_id TEXT NOT NULL REFERENCES runs(id), round INTEGER NOT NULL, task_id TEXT NOT NULL, lease_id TEXT NOT NULL,
  volunteer TEXT NOT NULL, kind TEXT NOT NULL, shard INTEGER NOT NULL, micro_batch INTEGER NOT NULL,
  flops INTEGER NOT NULL, compute_ms REAL NOT NULL, PRIMARY KEY (run_id, task_id)
);
CREATE TABLE IF NOT EXISTS receipts (
  run_id TEXT NOT NULL REFERENCES runs(id), round INTEGER NOT NULL, task_id TEXT NOT NULL, address TEXT NOT NULL,
  shard INTEGER NOT NULL, micro_batch INTEGER NOT NULL, flops INTEGER NOT NULL, PRIMARY KEY (run_id, task_id)
);
CREATE INDEX IF NOT EXISTS receipts_by_address ON receipts (run_id, address);
CREATE TABLE IF NOT EXISTS bans (
  address TEXT PRIMARY KEY, reason TEXT NOT NULL, at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS forfeits (
  run_id TEXT NOT NULL REFERENCES runs(id), address TEXT NOT NULL, from_round INTEGER NOT NULL, PRIMARY KEY (run_id, address)
);
CREATE TABLE IF NOT EXISTS metrics (
  run_id TEXT NOT NULL REFERENCES runs(id), round INTEGER NOT NULL, name TEXT NOT NULL, value REAL NOT NULL, at INTEGER NOT NULL
);
`;

type Row = Record<string, number | string | null>;

/** RunStore on SQLite: better-sqlite3 is synchronous, so each method has finished when its promise settles. */
export class SqliteRunStore implements RunStore {
  constructor(private readonly db: Database.Database) {
    db.exec(RUN_SCHEMA);
  }

  async createRun(id: string, spec: string, now: number): Promise<void> {
    this.db.prepare('INSERT INTO runs (id, spec, created_at) VALUES (?, ?, ?)').run(id, spec, now);
  }

  async latestRun(): Promise<StoredRun | null> {
    const row = this.db.prepare('SELECT id, spec, created_at, checkpoint_round, checkpoint FROM runs ORDER BY created_at DESC, rowid DESC LIMIT 1').get() as
      | { id: string; spec: string; created_at: number; checkpoint_round: number; checkpoint: string | null }
      | undefined;
    return row ? { id: row.id, spec: row.spec, createdAt: row.created_at, checkpointRound: row.checkpoint_round, checkpoint: row.checkpoint } : null;
  }

  async closeRound(runId: string, r: RoundRecord, tasks: readonly TaskRecord[]): Promise<void> {
    const insertRound = this.db.prepare('INSERT INTO rounds (run_id, round, loss, tokens, closed_at) VALUES (?, ?, ?, ?, ?)');
    const insertTask = this.db.prepare('INSERT INTO tasks (run_id, round, task_id, lease_id, volunteer, kind, shard, micro_batch, flops, compute_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    const insertReceipt = this.db.prepare('INSERT INTO receipts (run_id, round, task_id, address, shard, micro_batch, flops) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      insertRound.run(runId, r.round, r.loss, r.tokens, r.closedAt);
      for (const t of tasks) {
        insertTask.run(runId, t.round, t.taskId, t.leaseId, t.volunteer, t.kind, t.shard, t.microBatch, t.flops, t.computeMs);
        if (t.address) insertReceipt.run(runId, t.round, t.taskId, t.address, t.shard, t.microBatch, t.flops);
      }
    })();
  }

  async commitCheckpoint(runId: string, round: number, path: string): Promise<void> {
    this.db.prepare('UPDATE runs SET checkpoint_round = ?, checkpoint = ? WHERE id = ?').run(round, path, runId);
  }

  async rollbackTo(runId: string, round: number): Promise<void> {
    this.db.transaction(() => this.forget(runId, round))();
  }

  async rewindTo(runId: string, round: number, pending: readonly TaskRecord[], tag: string): Promise<void> {
    const undone = `#undone-${tag}`;
    const insertReceipt = this.db.prepare('INSERT INTO receipts (run_id, round, task_id, address, shard, micro_batch, flops) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      this.db.prepare(`UPDATE receipts SET task_id = task_id || ? WHERE run_id = ? AND round >= ? AND task_id NOT LIKE '%#undone-%'`).run(undone, runId, round);
      for (const t of pending) if (t.address) insertReceipt.run(runId, t.round, t.taskId + undone, t.address, t.shard, t.microBatch, t.flops);
      this.forget(runId, round);
    })();
  }

  /** Deletes what rounds at or after `round` recorded, except receipts of work a rewind undid (that work was done). */
  private forget(runId: string, round: number): void {
    for (const table of ['rounds', 'tasks', 'metrics']) this.db.prepare(`DELETE FROM ${table} WHERE run_id = ? AND round >= ?`).run(runId, round);
    this.db.prepare(`DELETE FROM receipts WHERE run_id = ? AND round >= ? AND task_id NOT LIKE '%#undone-%'`).run(runId, round);
  }

  async rounds(runId: string): Promise<RoundRecord[]> {
    const rows = this.db.prepare('SELECT round, loss, tokens, closed_at FROM rounds WHERE run_id = ? ORDER BY round').all(runId) as {
      round: number;
      loss: number;
      tokens: number;
      closed_at: number;
    }[];
    return rows.map((r) => ({ round: r.round, loss: r.loss, tokens: r.tokens, closedAt: r.closed_at }));
  }

  async contributors(runId: string, beforeRound: number, kinds: readonly string[], standInName: string): Promise<Contributors> {
    const row = this.db
      .prepare(
        `SELECT COUNT(*) AS tasks, COUNT(DISTINCT CASE WHEN t.volunteer <> @standIn THEN t.volunteer END) AS names,
           COUNT(DISTINCT CASE WHEN t.volunteer <> @standIn THEN lower(r.address) END) AS wallets,
           COUNT(CASE WHEN t.volunteer = @standIn THEN 1 END) AS standInTasks
         FROM tasks t LEFT JOIN receipts r ON r.run_id = t.run_id AND r.task_id = t.task_id
         WHERE t.run_id = @runId AND t.round < @beforeRound AND t.kind IN (SELECT value FROM json_each(@kinds))`,
      )
      .get({ runId, beforeRound, kinds: JSON.stringify(kinds), standIn: standInName }) as Contributors;
    return row;
  }

  async tasks(runId: string): Promise<TaskRecord[]> {
    const rows = this.db
      .prepare('SELECT t.*, r.address FROM tasks t LEFT JOIN receipts r ON r.run_id = t.run_id AND r.task_id = t.task_id WHERE t.run_id = ? ORDER BY t.round, t.task_id')
      .all(runId) as Row[];
    return rows.map((t) => ({
      round: t.round as number,
      taskId: t.task_id as string,
      leaseId: t.lease_id as string,
      volunteer: t.volunteer as string,
      kind: t.kind as string,
      shard: t.shard as number,
      microBatch: t.micro_batch as number,
      flops: t.flops as number,
      computeMs: t.compute_ms as number,
      address: t.address as string | null,
    }));
  }

  async receipts(runId: string): Promise<WorkReceipt[]> {
    const rows = this.db.prepare('SELECT round, task_id, address, shard, micro_batch, flops FROM receipts WHERE run_id = ? ORDER BY round, task_id').all(runId) as Row[];
    return rows.map((r) => ({
      round: r.round as number,
      taskId: r.task_id as string,
      address: r.address as string,
      shard: r.shard as number,
      microBatch: r.micro_batch as number,
      flops: r.flops as number,
    }));
  }

  async ban(runId: string, b: BanRecord): Promise<void> {
    this.db.transaction(() => {
      this.db.prepare('INSERT OR IGNORE INTO bans (address, reason, at) VALUES (?, ?, ?)').run(b.address, b.reason, b.at);
      this.db.prepare('INSERT OR IGNORE INTO forfeits (run_id, address, from_round) VALUES (?, ?, ?)').run(runId, b.address, b.forfeitFrom);
    })();
  }

  async bans(): Promise<BanRecord[]> {
    const rows = this.db
      .prepare('SELECT b.address, b.reason, b.at, MIN(f.from_round) AS from_round FROM bans b LEFT JOIN forfeits f ON f.address = b.address GROUP BY b.address ORDER BY b.at')
      .all() as Row[];
    return rows.map((r) => ({ address: r.address as string, reason: r.reason as string, at: r.at as number, forfeitFrom: (r.from_round as number | null) ?? 0 }));
  }

  async shares(runId: string, beforeRound = Number.MAX_SAFE_INTEGER, fromRound = 0): Promise<Map<string, bigint>> {
    // summed as 64-bit integers and read as BigInt: totals beyond 2^53 stay exact
    const rows = this.db
      .prepare(
        `SELECT address, SUM(flops) AS flops FROM receipts r WHERE run_id = ? AND round >= ? AND round < ?
         AND NOT EXISTS (SELECT 1 FROM forfeits f WHERE f.run_id = r.run_id AND f.address = r.address AND r.round >= f.from_round)
         GROUP BY address ORDER BY address`,
      )
      .safeIntegers(true)
      .all(runId, fromRound, beforeRound) as { address: string; flops: bigint }[];
    return new Map(rows.map((r) => [r.address, r.flops]));
  }

  async recordMetric(runId: string, round: number, name: string, value: number, at: number): Promise<void> {
    this.db.prepare('INSERT INTO metrics (run_id, round, name, value, at) VALUES (?, ?, ?, ?, ?)').run(runId, round, name, value, at);
  }

  async metrics(runId: string, name: string): Promise<MetricPoint[]> {
    return this.db.prepare('SELECT round, value, at FROM metrics WHERE run_id = ? AND name = ? ORDER BY round, at').all(runId, name) as MetricPoint[];
  }
}
