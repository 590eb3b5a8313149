import type { GptConfig, ShardSpec } from '@openshard/model';
import type { ClientMessage, ServerMessage, WireTensor } from '@openshard/protocol';
import type { VolunteerEvent } from './events.ts';
import type { TaskOutput } from './execute-task.ts';

/** What VolunteerMachine is told once, at construction. */
export interface MachineOptions {
  /** The coordinator's address, for the 'connected' event. */
  url: string;
  name: string;
  backend: 'cpu' | 'webgpu';
  session?: string;
  /** Stretches every task to this many times its compute time (for testing stragglers). */
  slowdown?: number;
  /** Fraction of the time spent computing, (0, 1]: after a task of c ms it rests c·(1 − d)/d ms. */
  dutyCycle?: number;
  /** Whether a new backend can be made after the device was lost; without one the volunteer stops. */
  canRecreateBackend: boolean;
}

/** The duty cycle, if it is in (0, 1]; a RangeError saying so otherwise. */
export function checkDutyCycle(d: number): number {
  if (!(d > 0 && d <= 1)) throw new RangeError(`duty cycle is ${d}; it must be in (0, 1]`);
  return d;
}

/**
 * A message from the coordinator, parsed completely. These are handled one at a time, in arrival
 * order, each after the work of the one before is done: weights land before the tasks that need them.
 */
export type ServerInput =
  | { type: 'welcome'; message: ServerMessage<'welcome'> }
  | { type: 'weights'; message: ServerMessage<'weights'>; tensors: WireTensor[] }
  | { type: 'task'; message: ServerMessage<'task'>; tensors: WireTensor[] }
  | { type: 'accepted'; message: ServerMessage<'accepted'> }
  | { type: 'refused'; message: ServerMessage<'refused'> }
  | { type: 'finished'; message: ServerMessage<'finished'> };

/** Everything the volunteer reacts to: the socket, its own timers and executor, and its owner. */
export type VolunteerInput =
  | ServerInput
  | { type: 'connected' }
  | { type: 'disconnected'; reason: string }
  /** Not queued: a cancel reaches the task that is running now. */
  | { type: 'cancel'; message: ServerMessage<'cancel'> }
  /** Not queued: kept gradients are summed without the executor. */
  | { type: 'collect'; message: ServerMessage<'collect'> }
  /** A server message that failed to parse (`wire` is its event name). */
  | { type: 'malformed'; wire: string; error: string }
  | { type: 'loaded' }
  | { type: 'load-failed'; error: string; deviceLost: boolean }
  | { type: 'computed'; leaseId: string; computeMs: number; output: TaskOutput }
  | { type: 'task-failed'; leaseId: string; error: string; deviceLost: boolean }
  | { type: 'stretch-ended'; leaseId: string }
  | { type: 'rest-ended' }
  | { type: 'backend-recreated'; backend: 'cpu' | 'webgpu' }
  | { type: 'backend-failed'; error: string }
  | { type: 'pause'; reason: string }
  | { type: 'resume'; reason: string }
  | { type: 'set-duty-cycle'; dutyCycle: number }
  /**
   * A fresh sign-in session: every later hello carries it. After the coordinator refused the old
   * one (and dropped the connection, which then stays down) it connects again with it.
   */
  | { type: 'session'; session: string }
  | { type: 'stop' };

/** A message for the coordinator; a result's tensors travel beside it as attachments. */
export type WireMessage =
  | { wire: 'hello'; message: ClientMessage<'hello'> }
  | { wire: 'ready'; message: ClientMessage<'ready'> }
  | { wire: 'result'; message: Omit<ClientMessage<'result'>, 'tensors'>; tensors: WireTensor[] }
  | { wire: 'gradients'; message: Omit<ClientMessage<'gradients'>, 'tensors'>; tensors: WireTensor[] }
  | { wire: 'giveBack'; message: ClientMessage<'giveBack'> }
  | { wire: 'availability'; message: ClientMessage<'availability'> };

/** What the shell must do, in order. */
export type VolunteerAction =
  | ({ type: 'send' } & WireMessage)
  | { type: 'report'; event: VolunteerEvent }
  | { type: 'load'; config: GptConfig; spec: ShardSpec; weights: WireTensor[] }
  | { type: 'execute'; leaseId: string; task: ServerMessage<'task'>; inputs: WireTensor[] }
  /** The --slowdown wait after a task's compute; ends with 'stretch-ended'. */
  | { type: 'start-stretch'; leaseId: string; ms: number }
  | { type: 'cut-stretch'; leaseId: string }
  /** The duty cycle's rest; ends with 'rest-ended'. */
  | { type: 'start-rest'; ms: number }
  | { type: 'cancel-rest' }
  | { type: 'disconnect' }
  | { type: 'connect' }
  /** A new backend and executor after the device was lost; ends with 'backend-recreated' or 'backend-failed'. */
  | { type: 'recreate-backend' };
