/** What happened, in plain words, for a log or a status page. */
export type VolunteerEvent =
  | { type: 'connected' | 'disconnected'; detail: string }
  /** The coordinator took the hello (and its session, if any): this connection is in the run. */
  | { type: 'joined'; run: string; volunteerId: string }
  | { type: 'assigned'; shard: number; version: number; parameters: number; layers: [number, number] }
  | { type: 'task'; kind: string; shard: number; round: number; microBatch: number; computeMs: number }
  | { type: 'accepted'; leaseId: string; round: number; flops: number }
  | { type: 'cancelled'; leaseId: string; reason: string }
  | { type: 'gave-back'; leaseId: string; reason: string }
  | { type: 'paused' | 'resumed'; reason: string }
  | { type: 'device-lost'; message: string }
  | { type: 'refused'; code: string; message: string }
  /** The run is complete after `rounds` rounds: nothing more to train. */
  | { type: 'finished'; rounds: number }
  | { type: 'error'; message: string };

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'stopped';

/** The volunteer's own record, for its status page; the coordinator's record is authoritative. */
export interface VolunteerStats {
  connection: ConnectionState;
  shard: number | null;
  layers: [number, number] | null;
  parameters: number;
  version: number;
  /** Results sent. */
  tasksDone: number;
  /** Results the coordinator accepted, and their work units (FLOPs). */
  tasksAccepted: number;
  flopsAccepted: number;
  /** Time spent computing tasks (ms). */
  busyMs: number;
  paused: boolean;
  dutyCycle: number;
  /** The task held now, from receipt until its result is sent; startedAt is Unix ms. */
  task: { leaseId: string; kind: string; round: number; microBatch: number; startedAt: number } | null;
  /** Once the coordinator said the run is complete: after how many rounds. It takes no task from then on. */
  finished: { rounds: number } | null;
}

/** A volunteer's stats before it has connected. */
export function newStats(dutyCycle: number): VolunteerStats {
  return {
    connection: 'connecting',
    shard: null,
    layers: null,
    parameters: 0,
    version: -1,
    tasksDone: 0,
    tasksAccepted: 0,
    flopsAccepted: 0,
    busyMs: 0,
    paused: false,
    dutyCycle,
    task: null,
    finished: null,
  };
}
