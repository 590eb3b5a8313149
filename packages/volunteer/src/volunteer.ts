import { Shard, type GptConfig } from '@openshard/model';
import { packTensors, parseMessage, PROTOCOL_VERSION, serverMessages, type ServerMessage, type ServerMessageType } from '@openshard/protocol';
import type { Backend } from '@openshard/tensor';
import { io, type Socket } from 'socket.io-client';
import { executeTask } from './execute-task.ts';

/** What happened, in plain words, for a log or a status page. */
export type VolunteerEvent =
  | { type: 'connected' | 'disconnected'; detail: string }
  | { type: 'assigned'; shard: number; version: number; parameters: number }
  | { type: 'task'; kind: string; shard: number; round: number; microBatch: number; computeMs: number }
  | { type: 'cancelled'; leaseId: string; reason: string }
  | { type: 'refused'; code: string; message: string }
  | { type: 'error'; message: string };

export interface VolunteerOptions {
  url: string;
  name: string;
  backend: Backend;
  onEvent?: (e: VolunteerEvent) => void;
  /** Stretches every task to this many times its compute time (for testing stragglers). */
  slowdown?: number;
}

/**
 * The volunteer runtime, the same in a browser worker and in Node: connects (and reconnects by
 * itself), receives its shard's weights, runs one task at a time, reports results with the
 * measured compute time. Holds only its shard.
 */
export class VolunteerClient {
  private socket: Socket | null = null;
  private config: GptConfig | null = null;
  private shard: Shard | null = null;
  private version = -1;
  private readonly cancelled = new Set<string>();
  private work = Promise.resolve();
  tasksDone = 0;

  constructor(private readonly o: VolunteerOptions) {}

  start(): void {
    const socket = io(this.o.url, { transports: ['websocket'], reconnectionDelay: 200, reconnectionDelayMax: 2000 });
    this.socket = socket;
    socket.on('connect', () => {
      this.emit({ type: 'connected', detail: this.o.url });
      socket.emit('hello', { protocol: PROTOCOL_VERSION, name: this.o.name, backend: this.o.backend.name });
    });
    socket.on('disconnect', (reason) => this.emit({ type: 'disconnected', detail: reason }));
    const on = <K extends ServerMessageType>(type: K, handle: (m: ServerMessage<K>, tensors: ReturnType<typeof parseMessage>['tensors']) => Promise<void> | void) => {
      socket.on(type as string, (json: unknown, ...attachments: unknown[]) => {
        // one message at a time, in order: weights always land before the tasks that need them
        this.work = this.work.then(async () => {
          try {
            const parsed = parseMessage(serverMessages, type, json, attachments, { finite: true });
            await handle(parsed.message as ServerMessage<K>, parsed.tensors);
          } catch (e) {
            this.emit({ type: 'error', message: `${type}: ${(e as Error).message}` });
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
      this.shard = Shard.fromValues(this.o.backend, this.config, m.shard, (p) => {
        const v = values.get(p.name);
        if (!v) throw new Error(`weights lack '${p.name}'`);
        return v;
      });
      this.version = m.version;
      this.emit({ type: 'assigned', shard: m.shard.index, version: m.version, parameters: tensors.reduce((a, t) => a + t.data.length, 0) });
      socket.emit('ready', { shard: m.shard.index, version: m.version });
    });
    on('task', async (m, tensors) => {
      if (!this.shard || m.shard !== this.shard.spec.index || m.version !== this.version) {
        socket.emit('abandon', { leaseId: m.leaseId, reason: `holding shard ${this.shard?.spec.index} version ${this.version}` });
        return;
      }
      const started = performance.now();
      const out = await executeTask(this.shard, m.kind, tensors, m.lossScale);
      const computeMs = performance.now() - started;
      if (this.o.slowdown && this.o.slowdown > 1) await new Promise((r) => setTimeout(r, (this.o.slowdown! - 1) * computeMs));
      if (this.cancelled.delete(m.leaseId)) return;
      const { headers, attachments } = packTensors(out.tensors);
      socket.emit('result', { leaseId: m.leaseId, computeMs, ...(out.loss !== undefined ? { loss: out.loss } : {}), tensors: headers }, ...attachments);
      this.tasksDone += 1;
      this.emit({ type: 'task', kind: m.kind, shard: m.shard, round: m.round, microBatch: m.microBatch, computeMs });
    });
    // not queued: a cancel must reach the task that is running now
    socket.on('cancel', (json: unknown) => {
      try {
        const m = parseMessage(serverMessages, 'cancel', json, [], { finite: true }).message;
        this.cancelled.add(m.leaseId);
        this.emit({ type: 'cancelled', leaseId: m.leaseId, reason: m.reason });
      } catch (e) {
        this.emit({ type: 'error', message: `cancel: ${(e as Error).message}` });
      }
    });
    on('refused', (m) => this.emit({ type: 'refused', code: m.code, message: m.message }));
  }

  async stop(): Promise<void> {
    this.socket?.disconnect();
    await this.work;
    this.shard?.dispose();
    this.shard = null;
  }

  private emit(e: VolunteerEvent): void {
    this.o.onEvent?.(e);
  }
}
