import type { z } from 'zod';
import type { gptConfig } from './messages.ts';

/**
 * What the coordinator tells dashboards, on a Socket.IO namespace of its own. Read-only: the
 * namespace accepts no events from a dashboard. On connection the dashboard receives one
 * `snapshot` (history from the store), then live `round`, `validation`, `event` and `stats`.
 */
export const DASHBOARD_NAMESPACE = '/dashboard';

/** How often the coordinator sends `stats` (ms). */
export const DASHBOARD_STATS_INTERVAL_MS = 1_000;

/**
 * Every curve is indexed by rounds completed, which is the single-process trainer's step: the
 * round that closes first is 1, and validation before any training is at 0.
 */

/** One closed round: mean training loss over its micro-batches (nats per token). */
export interface RoundPoint {
  /** Rounds completed when it closed (1 for the first). */
  round: number;
  loss: number;
  tokens: number;
  /** Unix ms. */
  closedAt: number;
}

/** Mean loss on the fixed validation batches (nats per token). */
export interface ValidationPoint {
  /** Rounds completed when it was measured (0: before any training). */
  round: number;
  loss: number;
  at: number;
}

/** The single-process trainer's curve for the same options, step by step, when the run has one. */
export interface ReferencePoint {
  /** The trainer's step. */
  round: number;
  loss?: number;
  validationLoss?: number;
}

export type DashboardEventKind = 'join' | 'leave' | 'reissue' | 'backup' | 'refused' | 'rebalance' | 'cheat' | 'rewind' | 'checkpoint' | 'epoch' | 'finished' | 'stand-in';

/** Something that happened, in plain words, for the event feed. */
export interface DashboardEvent {
  at: number;
  kind: DashboardEventKind;
  text: string;
}

export interface ShardLive {
  index: number;
  firstLayer: number;
  endLayer: number;
  parameters: number;
  volunteers: number;
  /** Share of the last window its volunteers spent computing accepted tasks, 0..1 (per volunteer). */
  utilisation: number;
  /** Tasks of this shard that could run now and wait for a volunteer. */
  queued: number;
  /** Tasks of this shard out on a lease now. */
  leased: number;
  /** The coordinator computes this shard itself: no training volunteer holds it (that work earns nothing). */
  standIn: boolean;
}

export interface VolunteerLive {
  name: string;
  backend: 'cpu' | 'webgpu';
  shard: number;
  tasksAccepted: number;
  flopsAccepted: number;
  busy: boolean;
  accepting: boolean;
}

export interface LatencyPercentiles {
  /** Wall time from issuing a task to accepting its result (ms), over the recent window. */
  p50: number;
  p90: number;
  p99: number;
  samples: number;
}

export interface LiveStats {
  at: number;
  /** Rounds completed (the round in progress is this one, counting from 0). */
  round: number;
  finished: boolean;
  volunteers: VolunteerLive[];
  shards: ShardLive[];
  latency: LatencyPercentiles | null;
  /** Bytes received from and sent to volunteers since the coordinator started. */
  bytesIn: number;
  bytesOut: number;
  /** The largest fraction of all model parameters any single identity (wallet, or connection) has been sent, 0..1. */
  maxExposure: number;
  /** The largest fraction the exposure budget lets one identity receive within its window, 0..1. */
  exposureBudget: number;
  /** Since the coordinator started: results audited, audits two volunteers agreed on, tasks the coordinator re-executed, identities banned; null without verification. */
  verification: { audits: number; agreed: number; reexecuted: number; banned: number } | null;
  /** Inference since the coordinator started; null while no checkpoint is served. */
  serving: ServingLive | null;
}

export interface ServingLive {
  /** The served model (`openshard-<preset>`) and the checkpoint folder's name. */
  model: string;
  checkpoint: string;
  requests: number;
  failed: number;
  tokens: number;
  /** Generated tokens per second of generating; null before any request. */
  tokensPerSecond: number | null;
  /** Median time to the first token of the last 100 requests (ms). */
  ttftMs: number | null;
  /** Volunteers serving each shard (the coordinator serves a shard with none). */
  serversPerShard: number[];
}

export interface RunInfo {
  id: string;
  preset: string;
  config: z.infer<typeof gptConfig>;
  shards: number;
  batch: number;
  microBatches: number;
  /** Rounds the run lasts. */
  rounds: number;
  tokensPerRound: number;
  parameters: number;
  /** Unigram entropy of the training bytes (nats): the loss a model without context reaches. */
  unigramEntropy: number;
}

export interface DashboardSnapshot {
  run: RunInfo;
  rounds: RoundPoint[];
  validation: ValidationPoint[];
  reference: ReferencePoint[] | null;
  /** The most recent events, oldest first. */
  events: DashboardEvent[];
  /** Recent stats samples, oldest first (kept in memory by the coordinator). */
  stats: LiveStats[];
}

export interface DashboardServerEvents {
  snapshot: (s: DashboardSnapshot) => void;
  round: (r: RoundPoint) => void;
  validation: (v: ValidationPoint) => void;
  event: (e: DashboardEvent) => void;
  stats: (s: LiveStats) => void;
}

/** A file of a committed checkpoint that anyone may download (GET /checkpoints/latest/<name>). */
export interface CheckpointFile {
  name: string;
  bytes: number;
  /** The path to download it from, on the coordinator's origin. */
  url: string;
}

/** GET /checkpoints/latest: the latest committed checkpoint, a Hugging Face GPT-2 folder. */
export interface CheckpointView {
  /** Rounds completed: the weights are those the next round starts from (as `RoundPoint.round`). */
  round: number;
  /** The checkpoint folder's name (`step-000120`). */
  name: string;
  /** The latest validation loss measured at or before `round`. */
  validation: ValidationPoint | null;
  files: CheckpointFile[];
}
