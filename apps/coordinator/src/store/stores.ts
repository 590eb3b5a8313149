import type { VolunteerCount } from '@openshard/trainer';
import type { EpochState, SiweNonceStore } from '@openshard/ownership';
import type { Hex } from 'viem';

/**
 * The coordinator's durable record, behind asynchronous interfaces: SQLite (store/sqlite/) on one
 * machine, and any engine with transactions (PostgreSQL) when several coordinators share it.
 * Callers hold a `Stores` and never a connection.
 */

/** An accepted task, logged in the transaction that commits its round. */
export interface TaskRecord {
  round: number;
  taskId: string;
  leaseId: string;
  volunteer: string;
  kind: string;
  shard: number;
  microBatch: number;
  flops: number;
  computeMs: number;
  /** The wallet of the volunteer's verified sign-in session; null: it accrues nothing. */
  address: string | null;
}

/** Accepted work credited to a wallet: one per accepted task of a signed-in volunteer. */
export interface WorkReceipt {
  round: number;
  taskId: string;
  address: string;
  shard: number;
  microBatch: number;
  flops: number;
}

/** An address caught cheating: refused on every reconnect; its receipts from `forfeitFrom` on (none in an epoch yet) count for nothing. */
export interface BanRecord {
  address: string;
  reason: string;
  at: number;
  forfeitFrom: number;
}

export interface RoundRecord {
  round: number;
  loss: number;
  tokens: number;
  closedAt: number;
}

export interface StoredRun {
  id: string;
  /** JSON the coordinator wrote when it created the run (options, corpus fingerprint). */
  spec: string;
  createdAt: number;
  /** The round the latest checkpoint starts at (rounds completed), 0 before any. */
  checkpointRound: number;
  checkpoint: string | null;
}

export interface MetricPoint {
  round: number;
  value: number;
  at: number;
}

/** One closed epoch as stored: amounts are wei (BigInt). */
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
  publishedTx: EpochPublication | null;
}

export type EpochPublication = Hex | 'found-on-chain';

/**
 * Runs, closed rounds, the accepted-task log with its work receipts, metrics, and which checkpoint
 * a run resumes from. A round's summary, its tasks and their receipts are written in one
 * transaction; a recovery forgets, in one transaction, whatever came after the checkpoint it
 * resumes from, so no round is counted twice.
 */
export interface RunStore {
  createRun(id: string, spec: string, now: number): Promise<void>;
  latestRun(): Promise<StoredRun | null>;
  /** All or nothing: a task that cannot be written (a task id logged before) leaves no trace of the round. */
  closeRound(runId: string, r: RoundRecord, tasks: readonly TaskRecord[]): Promise<void>;
  /** The checkpoint at `path` (written and renamed into place already) starts at `round`. */
  commitCheckpoint(runId: string, round: number, path: string): Promise<void>;
  /** Forgets rounds, tasks, receipts and metrics at or after `round` (they will be trained again); receipts of work a rewind undid stay. */
  rollbackTo(runId: string, round: number): Promise<void>;
  /**
   * A rewind: rounds, tasks and metrics at or after `round` are forgotten (they will be trained
   * again), but the work done in them stays credited: their receipts, and those of `pending` (the
   * open round's accepted tasks), are kept under new task ids marked as undone (`#undone-<tag>`).
   * Forfeits still apply to them. All in one transaction.
   */
  rewindTo(runId: string, round: number, pending: readonly TaskRecord[], tag: string): Promise<void>;
  rounds(runId: string): Promise<RoundRecord[]>;
  tasks(runId: string): Promise<TaskRecord[]>;
  /**
   * Who did the accepted tasks of `kinds` in rounds before `beforeRound`, counted in the store:
   * tasks, distinct volunteer names and wallets, and tasks logged under `standInName` (counted
   * apart, not as a name).
   */
  contributors(runId: string, beforeRound: number, kinds: readonly string[], standInName: string): Promise<Contributors>;
  receipts(runId: string): Promise<WorkReceipt[]>;
  /** Bans the address and forfeits its receipts of this run from `forfeitFrom` on, in one transaction. */
  ban(runId: string, b: BanRecord): Promise<void>;
  /** Every banned address, of any run. */
  bans(): Promise<BanRecord[]>;
  /** Shares: accepted FLOPs per address over rounds [fromRound, beforeRound) (all rounds when omitted), forfeited receipts left out, exact. */
  shares(runId: string, beforeRound?: number, fromRound?: number): Promise<Map<string, bigint>>;
  recordMetric(runId: string, round: number, name: string, value: number, at: number): Promise<void>;
  /** One metric of a run, in round order. */
  metrics(runId: string, name: string): Promise<MetricPoint[]>;
}

/** Who did a run's training tasks: what a checkpoint's model card says of its volunteers. */
export type Contributors = VolunteerCount;

/**
 * Epochs: an epoch is written whole before its root is sent to the chain, and marked published
 * when the transaction is mined, so a crash in between leaves an epoch to publish, never a root
 * nobody can prove against.
 */
export interface EpochStore {
  add(runId: string, e: EpochRecord): Promise<void>;
  markPublished(runId: string, epoch: number, tx: EpochPublication): Promise<void>;
  latest(runId: string): Promise<EpochRecord | null>;
  /** The latest epoch whose root is on chain. */
  latestPublished(runId: string): Promise<EpochRecord | null>;
  /** Epochs stored but not yet on chain, in epoch order. */
  unpublished(runId: string): Promise<EpochRecord[]>;
  /** Every epoch of the run, in epoch order. */
  all(runId: string): Promise<EpochRecord[]>;
}

/**
 * Sign-in nonces, shared by every coordinator process so that a nonce issued by one is accepted
 * by another, once (issue with its expiry; consume atomically; prune). The contract is what
 * SiweVerifier needs, stated once in the ownership package.
 */
export type NonceStore = SiweNonceStore;

/**
 * A priced inference request: quoted (the 402's request id), then paid on chain by the caller,
 * then served once. `serving` marks the one request being served under an id, so two concurrent
 * requests cannot both be served for one payment; a failed generation puts it back to `quoted`.
 */
export type QuoteState = 'quoted' | 'serving' | 'served';

export interface QuoteRecord {
  requestId: Hex;
  model: string;
  /** Tokens priced: the prompt's and max_tokens. */
  tokens: number;
  /** Wei to pay. */
  amount: bigint;
  /** Unix ms after which an unpaid quote is no longer accepted (the chain refuses payment after it too). */
  expiresAt: number;
  createdAt: number;
  state: QuoteState;
  servedAt: number | null;
  /** Wei seen paid on chain when served. */
  paid: bigint | null;
  completionTokens: number | null;
}

/** Quotes and which were served: one payment serves one request, also across restarts and processes. */
export interface PaymentStore {
  addQuote(q: QuoteRecord): Promise<void>;
  quote(requestId: Hex): Promise<QuoteRecord | null>;
  /** quoted → serving, atomically; false when the quote is not in state `quoted` (served, or being served). */
  startServing(requestId: Hex): Promise<boolean>;
  /** serving → served, with what was paid and generated. */
  served(requestId: Hex, paid: bigint, completionTokens: number, at: number): Promise<void>;
  /** serving → quoted: the generation failed; the payment stays good for a retry. */
  unserved(requestId: Hex): Promise<void>;
  /** Served requests and the wei they paid, per time window [from, to). */
  servedBetween(from: number, to: number): Promise<{ requests: number; paid: bigint }>;
  /** Forgets quotes not served whose expiry is before `before` (callers keep paid ones redeemable for a retention period); opening the store returns `serving` quotes to `quoted`. */
  prune(before: number): Promise<void>;
}

export interface Stores {
  runs: RunStore;
  epochs: EpochStore;
  nonces: NonceStore;
  payments: PaymentStore;
  /** Releases the connection(s); the stores are unusable after. */
  close(): Promise<void>;
}
