import type { DashboardEventKind, ProtocolError, ServerMessage, ServerMessageType, WireTensor } from '@openshard/protocol';
import type { TaskLease } from './scheduler/leases.ts';
import type { TaskRecord } from './store/stores.ts';
import type { TaskKey } from './training/round-plan.ts';
import type { RoundSummary } from './training/training-run.ts';
import type { Author } from './trust/audits.ts';

/* What the Coordinator knows of a volunteer, what it raises for its owner, and what it sends out: effects. */

/** A connected volunteer as the Coordinator keeps it. */
export interface Volunteer {
  id: string;
  name: string;
  backend: 'cpu' | 'webgpu';
  shard: number;
  /** The weights version the volunteer said it holds; tasks go only to volunteers on the current version. */
  readyVersion: number | null;
  /** FLOPs per ms of its accepted tasks (moving average); null until one is accepted. */
  throughput: number | null;
  tasksAccepted: number;
  /** Work units (FLOPs) of its accepted tasks. */
  flopsAccepted: number;
  /** False while it says it is paused or resting: it is given no tasks. */
  accepting: boolean;
  refusals: number;
  /** The wallet its sign-in session was verified for; null: it contributes but accrues nothing. */
  address: string | null;
  /** The last weights sent to it (received in order, so what it holds once it has read them): an update needs them. */
  sent: { shard: number; version: number } | null;
}

/** Turns a sign-in session token into the address it was issued for, or throws saying why not. */
export interface SessionVerifier {
  addressOf(token: string): string;
}

/** A message for one volunteer, or an order to drop its connection. */
export type Effect = { to: string; type: ServerMessageType; message: ServerMessage<ServerMessageType>; tensors?: WireTensor[] } | { to: string; type: 'disconnect'; reason: string };

export interface CoordinatorEvents {
  /** Awaited before anything else happens: the place to commit the round durably. */
  roundClosed?(summary: RoundSummary, tasks: TaskRecord[]): void | Promise<void>;
  /** A result was accepted: its lease, and when. */
  taskAccepted?(lease: TaskLease<TaskKey>, computeMs: number, now: number): void;
  /** A volunteer's message was refused, with the refusal's code (for /metrics). */
  refused?(code: string): void;
  /** Something a researcher watching the run would want to know, in plain words. */
  notice?(kind: NoticeKind, text: string): void;
  /** Caught cheating: the place to record the ban and forfeit the identity's unvested work durably. */
  banned?(who: Author, address: string | null, reason: string): void | Promise<void>;
  /** The run went back to the start of `round`: rounds from it on are forgotten and trained again; `pending` is the open round's accepted work, undone with them. */
  rewound?(round: number, pending: readonly TaskRecord[]): void | Promise<void>;
}

/** The dashboard notices the Coordinator itself raises; the rest come from start-up and the after-round steps. */
export type NoticeKind = Extract<DashboardEventKind, 'join' | 'leave' | 'reissue' | 'backup' | 'refused' | 'rebalance' | 'cheat' | 'rewind' | 'stand-in'>;

export function refusal(to: string, e: ProtocolError, leaseId?: string): Effect {
  return { to, type: 'refused', message: { code: e.code, message: e.message, ...(leaseId ? { leaseId } : {}) } };
}

export function cancel(to: string, leaseId: string, reason: string): Effect {
  return { to, type: 'cancel', message: { leaseId, reason } };
}
