import { Shard, type GptConfig } from '@openshard/model';
import { packTensors, parseMessage, PROTOCOL_VERSION, serverMessages, type ServerMessage, type ServerMessageType } from '@openshard/protocol';
import { DeviceLostError, WebGpuBackend, type Backend } from '@openshard/tensor';
import { io, type Socket } from 'socket.io-client';
import { executeTask } from './execute-task.ts';

/** What happened, in plain words, for a log or a status page. */
export type VolunteerEvent =
  | { type: 'connected' | 'disconnected'; detail: string }
  | { type: 'assigned'; shard: number; version: number; parameters: number; layers: [number, number] }
  | { type: 'task'; kind: string; shard: number; round: number; microBatch: number; computeMs: number }
  | { type: 'accepted'; leaseId: string; round: number; flops: number }
  | { type: 'cancelled'; leaseId: string; reason: string }
  | { type: 'gave-back'; leaseId: string; reason: string }
  | { type: 'paused' | 'resumed'; reason: string }
  | { type: 'device-lost'; message: string }
  | { type: 'refused'; code: string; message: string }
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
}

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
}

/**
 * The volunteer runtime, the same in a browser worker and in Node: connects (and reconnects by
 * itself), receives its shard's weights, runs one task at a time, reports results with the
 * measured compute time. Holds only its shard. While paused or resting it tells the coordinator
 * it takes no tasks, and gives back any task it holds, so no task waits on it.
 */
export class VolunteerClient {
  private socket: Socket | null = null;
  private backend: Backend;
  private config: GptConfig | null = null;
  private shard: Shard | null = null;
  private readonly cancelled = new Set<string>();
  private running: string | null = null;
  private restTimer: ReturnType<typeof setTimeout> | null = null;
  private endStretch: (() => void) | null = null;
  /** Why it is paused (null when it is not): the reason every give-back while paused carries. */
  private pauseReason: string | null = null;
  private work = Promise.resolve();
  private readonly s: VolunteerStats;

  constructor(private readonly o: VolunteerOptions) {
    this.backend = o.backend;
    this.s = {
      connection: 'connecting', shard: null, layers: null, parameters: 0, version: -1, tasksDone: 0, tasksAccepted: 0, flopsAccepted: 0, busyMs: 0,
      paused: false, dutyCycle: checkDutyCycle(o.dutyCycle ?? 1), task: null,
    };
  }

  get stats(): VolunteerStats {
    return { ...this.s, layers: this.s.layers && [...this.s.layers], task: this.s.task && { ...this.s.task } };
  }

  start(): void {
    const socket = io(this.o.url, { transports: ['websocket'], reconnectionDelay: 200, reconnectionDelayMax: 2000, ...(this.o.path ? { path: this.o.path } : {}) });
    this.socket = socket;
    socket.on('connect', () => {
      this.s.connection = 'connected';
      this.emit({ type: 'connected', detail: this.o.url });
      socket.emit('hello', { protocol: PROTOCOL_VERSION, name: this.o.name, backend: this.backend.name, ...(this.o.session ? { session: this.o.session } : {}) });
      if (!this.accepting) socket.emit('availability', { accepting: false, reason: this.pauseReason ?? 'resting' });
    });
    socket.on('disconnect', (reason) => {
      this.s.connection = this.s.connection === 'stopped' ? 'stopped' : 'reconnecting';
      this.emit({ type: 'disconnected', detail: reason });
    });
    const on = <K extends ServerMessageType>(type: K, handle: (m: ServerMessage<K>, tensors: ReturnType<typeof parseMessage>['tensors']) => Promise<void> | void) => {
      socket.on(type as string, (json: unknown, ...attachments: unknown[]) => {
        // one message at a time, in order: weights always land before the tasks that need them
        this.work = this.work.then(async () => {
          try {
            const parsed = parseMessage(serverMessages, type, json, attachments, { finite: true });
            await handle(parsed.message as ServerMessage<K>, parsed.tensors);
          } catch (e) {
            // the device's loss is reported asynchronously: the first error after it may be another
            if (e instanceof DeviceLostError || (await lostSoon(this.backend))) await this.recoverDevice((e as Error).message);
            else this.emit({ type: 'error', message: `${type}: ${(e as Error).message}` });
          }
        });
      });
    };
    on('welcome', (m) => {
      this.config = m.run.config;
    });
    on('weights', (m, tensors) => {
      if (!this.config) throw new Error('weights before welcome');
      const values = new Map(tensors.map((t) => [t.name, t.data as Float32Array]));
      this.shard?.dispose();
      this.shard = null;
      this.shard = Shard.fromValues(this.backend, this.config, m.shard, (p) => {
        const v = values.get(p.name);
        if (!v) throw new Error(`weights lack '${p.name}'`);
        return v;
      });
      const parameters = tensors.reduce((a, t) => a + t.data.length, 0);
      const changed = this.s.shard !== m.shard.index;
      Object.assign(this.s, { shard: m.shard.index, layers: [m.shard.firstLayer, m.shard.endLayer], parameters, version: m.version });
      if (changed) this.emit({ type: 'assigned', shard: m.shard.index, version: m.version, parameters, layers: [m.shard.firstLayer, m.shard.endLayer] });
      socket.emit('ready', { shard: m.shard.index, version: m.version });
    });
    on('task', async (m, tensors) => {
      if (!this.shard || m.shard !== this.shard.spec.index || m.version !== this.s.version) {
        socket.emit('giveBack', { leaseId: m.leaseId, reason: `holding shard ${this.shard?.spec.index} version ${this.s.version}` });
        return;
      }
      if (!this.accepting) return this.giveBack(m.leaseId, this.pauseReason ?? 'resting');
      if (this.cancelled.delete(m.leaseId)) return;
      // held from here until the result is sent: a pause meanwhile gives the lease back
      this.running = m.leaseId;
      this.s.task = { leaseId: m.leaseId, kind: m.kind, round: m.round, microBatch: m.microBatch, startedAt: Date.now() };
      try {
        const started = performance.now();
        const out = await executeTask(this.shard, m.kind, tensors, m.lossScale);
        const computeMs = performance.now() - started;
        this.s.busyMs += computeMs;
        if (this.o.slowdown && this.o.slowdown > 1) await this.stretch((this.o.slowdown - 1) * computeMs);
        if (this.cancelled.delete(m.leaseId)) return;
        this.rest(computeMs);
        const { headers, attachments } = packTensors(out.tensors);
        socket.emit('result', { leaseId: m.leaseId, computeMs, ...(out.loss !== undefined ? { loss: out.loss } : {}), tensors: headers }, ...attachments);
        this.s.tasksDone += 1;
        this.emit({ type: 'task', kind: m.kind, shard: m.shard, round: m.round, microBatch: m.microBatch, computeMs });
      } finally {
        this.running = null;
        this.s.task = null;
      }
    });
    on('accepted', (m) => {
      this.s.tasksAccepted += 1;
      this.s.flopsAccepted += m.flops;
      this.emit({ type: 'accepted', leaseId: m.leaseId, round: m.round, flops: m.flops });
    });
    // not queued: a cancel must reach the task that is running now
    socket.on('cancel', (json: unknown) => {
      try {
        const m = parseMessage(serverMessages, 'cancel', json, [], { finite: true }).message;
        this.cancelled.add(m.leaseId);
        if (m.leaseId === this.running) this.endStretch?.();
        this.emit({ type: 'cancelled', leaseId: m.leaseId, reason: m.reason });
      } catch (e) {
        this.emit({ type: 'error', message: `cancel: ${(e as Error).message}` });
      }
    });
    on('refused', (m) => this.emit({ type: 'refused', code: m.code, message: m.message }));
  }

  /** Stops taking tasks and gives back the one running now (its result would come too late to matter). */
  pause(reason = 'paused'): void {
    if (this.s.paused) return;
    this.s.paused = true;
    this.pauseReason = reason;
    this.socket?.emit('availability', { accepting: false, reason });
    if (this.running) this.giveBack(this.running, reason);
    this.emit({ type: 'paused', reason });
  }

  resume(reason = 'resumed'): void {
    if (!this.s.paused) return;
    this.s.paused = false;
    this.pauseReason = null;
    if (this.accepting) this.socket?.emit('availability', { accepting: true, reason });
    this.emit({ type: 'resumed', reason });
  }

  setDutyCycle(d: number): void {
    this.s.dutyCycle = checkDutyCycle(d);
  }

  /** For tests of recovery: destroys the GPU device as a driver reset would. */
  loseDevice(): void {
    if (this.backend instanceof WebGpuBackend) this.backend.loseDevice();
  }

  async stop(): Promise<void> {
    this.s.connection = 'stopped';
    if (this.restTimer) clearTimeout(this.restTimer);
    this.socket?.disconnect();
    await this.work;
    this.shard?.dispose();
    this.shard = null;
  }

  private get accepting(): boolean {
    return !this.s.paused && this.restTimer === null;
  }

  /** Keeps the duty cycle: after c ms of work, c·(1 − d)/d ms without tasks. */
  private rest(computeMs: number): void {
    const d = this.s.dutyCycle;
    if (d >= 1) return;
    this.socket?.emit('availability', { accepting: false, reason: 'resting' });
    this.restTimer = setTimeout(() => {
      this.restTimer = null;
      if (this.accepting) this.socket?.emit('availability', { accepting: true, reason: 'rested' });
    }, (computeMs * (1 - d)) / d);
  }

  /** The artificial wait of --slowdown, cut short when its task is cancelled or given back. */
  private stretch(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.endStretch = () => {
        this.endStretch = null;
        done();
      };
    });
  }

  private giveBack(leaseId: string, reason: string): void {
    this.cancelled.add(leaseId);
    if (leaseId === this.running) this.endStretch?.();
    this.socket?.emit('giveBack', { leaseId, reason });
    this.emit({ type: 'gave-back', leaseId, reason });
  }

  /** The GPU device is gone: a new one, then the shard's weights again through a fresh connection. */
  private async recoverDevice(message: string): Promise<void> {
    this.emit({ type: 'device-lost', message });
    this.shard = null; // its buffers died with the device
    this.s.shard = null;
    this.socket?.disconnect(); // the coordinator re-issues the task at once
    if (!this.o.recreateBackend) {
      this.s.connection = 'stopped';
      return;
    }
    this.backend = await this.o.recreateBackend();
    this.socket?.connect();
  }

  private emit(e: VolunteerEvent): void {
    this.o.onEvent?.(e);
  }
}

/** How long a device loss may take to be reported after the error it caused (ms). */
const LOSS_REPORT_MS = 100;

async function lostSoon(backend: Backend): Promise<boolean> {
  if (backend.lost) return true;
  if (backend.name === 'cpu') return false;
  await new Promise((r) => setTimeout(r, LOSS_REPORT_MS));
  return backend.lost;
}

function checkDutyCycle(d: number): number {
  if (!(d > 0 && d <= 1)) throw new RangeError(`duty cycle is ${d}; it must be in (0, 1]`);
  return d;
}
