import { packTensors, parseMessage, SERVER_MESSAGE_LIMITS, serverMessages, type ServerMessage, type ServerMessageType, type WireTensor } from '@openshard/protocol';
import { WebGpuBackend, type Backend } from '@openshard/tensor';
import { io, type Socket } from 'socket.io-client';
import type { VolunteerEvent, VolunteerStats } from './events.ts';
import { VolunteerMachine } from './machine.ts';
import { checkDutyCycle, type ServerInput, type VolunteerAction, type VolunteerInput, type WireMessage } from './machine-io.ts';
import type { ServingHost, ServingLink } from './serving/serving-host.ts';
import { KernelExecutor, type TaskExecutor } from './task-executor.ts';

export interface VolunteerOptions {
  url: string;
  name: string;
  backend: Backend;
  onEvent?: (e: VolunteerEvent) => void;
  /** Stretches every task to this many times its compute time (for testing stragglers). */
  slowdown?: number;
  /** Fraction of the time spent computing, (0, 1]: after a task of c ms it rests c·(1 − d)/d ms. */
  dutyCycle?: number;
  /** A new backend after the GPU device was lost; without it the volunteer stops. */
  recreateBackend?: () => Promise<Backend>;
  /** socket.io path (default /socket.io). */
  path?: string;
  /** A sign-in session token: accepted work accrues to its wallet. Without one it accrues nothing. */
  session?: string;
  /** What runs tasks on a backend (our kernels by default); called again with each new backend. */
  executor?: (backend: Backend) => TaskExecutor;
  /**
   * Serves the volunteer's shard of the served model too (`new ServingHost(backends, link)` from
   * `@openshard/volunteer/serving`, which brings onnxruntime-web); without it the volunteer only trains.
   */
  serving?: (link: ServingLink) => ServingHost;
}

/** Server messages the machine takes in arrival order; 'cancel' and 'collect' are not among them: they overtake them. */
const QUEUED: readonly ServerInput['type'][] = ['welcome', 'weights', 'task', 'accepted', 'refused', 'finished'];

/**
 * The volunteer runtime, the same in a browser worker and in Node: connects (and reconnects by
 * itself), receives its shard's weights, runs one task at a time, reports results with the
 * measured compute time. Holds only its shard. While paused or resting it tells the coordinator
 * it takes no tasks, and gives back any task it holds, so no task waits on it.
 *
 * A thin shell: every decision is VolunteerMachine's. This class parses each server message
 * completely before the machine sees it, and performs the machine's actions with a socket, two
 * timers and a TaskExecutor.
 */
export class VolunteerClient {
  private socket: Socket | null = null;
  private backend: Backend;
  private executor: TaskExecutor;
  private readonly machine: VolunteerMachine;
  /** Inputs not yet stepped: an action may cause an input (a disconnect does) while steps are running. */
  private readonly pending: VolunteerInput[] = [];
  private stepping = false;
  private stretchTimer: ReturnType<typeof setTimeout> | null = null;
  private restTimer: ReturnType<typeof setTimeout> | null = null;
  /** The executor call in flight, if any: stop() waits for it before disposing the executor. */
  private inFlight: Promise<void> = Promise.resolve();
  private serving: ServingHost | null = null;

  constructor(private readonly o: VolunteerOptions) {
    this.backend = o.backend;
    this.executor = this.newExecutor(o.backend);
    this.machine = new VolunteerMachine({
      url: o.url,
      name: o.name,
      backend: o.backend.name,
      slowdown: o.slowdown,
      dutyCycle: o.dutyCycle,
      canRecreateBackend: o.recreateBackend !== undefined,
      ...(o.session ? { session: o.session } : {}),
    });
  }

  get stats(): VolunteerStats {
    return this.machine.stats;
  }

  start(): void {
    const socket = io(this.o.url, { transports: ['websocket'], reconnectionDelay: 200, reconnectionDelayMax: 2000, ...(this.o.path ? { path: this.o.path } : {}) });
    this.socket = socket;
    socket.on('connect', () => this.step({ type: 'connected' }));
    socket.on('disconnect', (reason) => this.step({ type: 'disconnected', reason }));
    for (const type of [...QUEUED, 'cancel', 'collect'] as const) {
      socket.on(type, (json: unknown, ...attachments: unknown[]) => this.step(parse(type, json, attachments)));
    }
    if (this.o.serving) this.startServing(socket, this.o.serving);
  }

  /** Serving messages go straight to the serving host: it runs beside the task machine, on its own session. */
  private startServing(socket: Socket, factory: NonNullable<VolunteerOptions['serving']>): void {
    const emit = (type: string, json: object, tensors: WireTensor[] = []) => {
      if (!socket.connected) return;
      const { headers, attachments } = packTensors(tensors);
      socket.emit(type, tensors.length ? { ...json, tensors: headers } : json, ...attachments);
    };
    const host = factory({
      serving: (m) => emit('serving', m),
      stepped: (m, output) => emit('stepped', m, [output]),
      stepFailed: (m) => emit('stepFailed', m),
    });
    this.serving = host;
    const on = <K extends 'serveShard' | 'step' | 'endGeneration'>(type: K, handle: (m: ServerMessage<K>, tensors: WireTensor[]) => void) =>
      socket.on(type as string, (json: unknown, ...attachments: unknown[]) => {
        try {
          const { message, tensors } = parseMessage(serverMessages, type, json, attachments, { finite: true, limits: SERVER_MESSAGE_LIMITS });
          handle(message as ServerMessage<K>, tensors);
        } catch (e) {
          this.o.onEvent?.({ type: 'error', message: `${type}: ${(e as Error).message}` });
        }
      });
    on('serveShard', (m, t) => host.serveShard(m, t));
    on('step', (m, t) => host.step(m, t));
    on('endGeneration', (m) => host.endGeneration(m));
  }

  /** Stops taking tasks and gives back the one running now (its result would come too late to matter). */
  pause(reason = 'paused'): void {
    this.serving?.pause();
    this.step({ type: 'pause', reason });
  }

  resume(reason = 'resumed'): void {
    this.step({ type: 'resume', reason });
    this.serving?.resume();
  }

  setDutyCycle(d: number): void {
    this.step({ type: 'set-duty-cycle', dutyCycle: checkDutyCycle(d) });
  }

  /**
   * A fresh sign-in session (see SessionKeeper): later hellos carry it, and after a refused
   * session (a 'refused' event with code 'session') it connects again with it.
   */
  setSession(session: string): void {
    this.step({ type: 'session', session });
  }

  /** For tests of recovery: destroys the GPU device as a driver reset would. */
  loseDevice(): void {
    if (this.backend instanceof WebGpuBackend) this.backend.loseDevice();
  }

  async stop(): Promise<void> {
    this.step({ type: 'stop' });
    await this.inFlight;
    this.executor.dispose();
    await this.serving?.dispose();
  }

  /** Steps the machine through `input` and whatever its actions cause, one input at a time. */
  private step(input: VolunteerInput): void {
    this.pending.push(input);
    if (this.stepping) return;
    this.stepping = true;
    try {
      for (let next = this.pending.shift(); next; next = this.pending.shift()) {
        for (const action of this.machine.handle(next, Date.now())) this.performSafely(action);
      }
    } finally {
      this.stepping = false;
    }
  }

  /** An action that throws (a tensor that cannot be packed, an owner's callback) is reported, never thrown into a socket listener or a promise. */
  private performSafely(a: VolunteerAction): void {
    try {
      this.perform(a);
    } catch (e) {
      if (a.type === 'report') return console.error('volunteer: onEvent threw', e);
      this.o.onEvent?.({ type: 'error', message: `${a.type}: ${(e as Error).message}` });
    }
  }

  private perform(a: VolunteerAction): void {
    switch (a.type) {
      case 'send':
        return this.send(a);
      case 'report':
        return this.o.onEvent?.(a.event);
      case 'load':
        return this.run(
          async () => {
            await this.executor.load(a.config, a.spec, a.weights);
            return { type: 'loaded' };
          },
          (error, deviceLost) => ({ type: 'load-failed', error, deviceLost }),
        );
      case 'execute':
        return this.run(
          async () => {
            const started = performance.now();
            const output = await this.executor.execute(a.task, a.inputs);
            return { type: 'computed', leaseId: a.leaseId, computeMs: performance.now() - started, output };
          },
          (error, deviceLost) => ({ type: 'task-failed', leaseId: a.leaseId, error, deviceLost }),
        );
      case 'start-stretch':
        this.stretchTimer = setTimeout(() => this.step({ type: 'stretch-ended', leaseId: a.leaseId }), a.ms);
        return;
      case 'cut-stretch':
        return clearTimer(this.stretchTimer);
      case 'start-rest':
        this.restTimer = setTimeout(() => this.step({ type: 'rest-ended' }), a.ms);
        return;
      case 'cancel-rest':
        return clearTimer(this.restTimer);
      case 'disconnect':
        return void this.socket?.disconnect();
      case 'connect':
        return void this.socket?.connect();
      case 'recreate-backend':
        return this.recreateBackend();
    }
  }

  private send(m: WireMessage): void {
    // socket.io buffers what is emitted while disconnected and sends it ahead of the next hello, where it would be refused
    if (!this.socket?.connected) return;
    if (!('tensors' in m)) return void this.socket?.emit(m.wire, m.message);
    const { headers, attachments } = packTensors(m.tensors);
    this.socket?.emit(m.wire, { ...m.message, tensors: headers }, ...attachments);
  }

  /** Runs one executor call; its outcome, or its failure and whether the device was lost, comes back as an input. */
  private run(work: () => Promise<VolunteerInput>, failed: (error: string, deviceLost: boolean) => VolunteerInput): void {
    const executor = this.executor;
    this.inFlight = work().then(
      (input) => this.step(input),
      async (e: unknown) => this.step(failed((e as Error).message, await executor.deviceLost(e))),
    );
  }

  private newExecutor(backend: Backend): TaskExecutor {
    return this.o.executor?.(backend) ?? new KernelExecutor(backend);
  }

  private recreateBackend(): void {
    this.inFlight = this.o.recreateBackend!().then(
      (backend) => {
        this.executor.dispose();
        this.backend = backend;
        this.executor = this.newExecutor(backend);
        this.step({ type: 'backend-recreated', backend: backend.name });
      },
      (e: unknown) => this.step({ type: 'backend-failed', error: (e as Error).message }),
    );
  }
}

/** A server message parsed completely (schema, tensors, finiteness), or why it could not be. */
function parse(type: ServerInput['type'] | 'cancel' | 'collect', json: unknown, attachments: unknown[]): VolunteerInput {
  try {
    const { message, tensors } = parseMessage(serverMessages, type as ServerMessageType, json, attachments, { finite: true, limits: SERVER_MESSAGE_LIMITS });
    return { type, message, tensors } as VolunteerInput;
  } catch (e) {
    return { type: 'malformed', wire: type, error: (e as Error).message };
  }
}

function clearTimer(timer: ReturnType<typeof setTimeout> | null): void {
  if (timer) clearTimeout(timer);
}
