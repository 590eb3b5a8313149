import type { GptConfig } from '@openshard/model';
import { BOUNDARY_TENSORS, PROTOCOL_VERSION, TRAFFIC, type ServerMessage, type WireTensor } from '@openshard/protocol';
import { newStats, type VolunteerEvent, type VolunteerStats } from './events.ts';
import type { TaskOutput } from './execute-task.ts';
import { SentWeights } from './sent-weights.ts';
import { KeptGradients } from './kept-gradients.ts';
import { checkDutyCycle, type MachineOptions, type ServerInput, type VolunteerAction, type VolunteerInput, type WireMessage } from './machine-io.ts';

/** The one task held, from the start of its execution until its result is sent or it is dropped. */
interface RunningTask {
  task: ServerMessage<'task'>;
  /** Cancelled, given back, or its connection dropped: its result is never sent. */
  dropped: boolean;
  /** Null while the executor has it; once computed it waits out its --slowdown stretch. */
  computed: { computeMs: number; output: TaskOutput } | null;
}

/**
 * What the volunteer decides, without sockets, timers or a backend: which task runs, which is given
 * back and why, when it rests, what it tells the coordinator. Every entry point takes the current
 * time and returns the actions for the shell to perform, in order.
 *
 * Invariants:
 * - At most one executor call (a load or a task) is in flight; server messages wait in `inbox`
 *   meanwhile. A cancel, a pause or a timer never waits: it acts on the running task at once.
 * - A task is executed only while accepting (not paused, not resting) on the weights it names.
 * - A dropped task's result is never sent; a task dropped while stretching ends at once, one
 *   dropped while executing still holds the executor until its compute ends.
 * - Messages for the coordinator go out only on a live connection: leases die with their
 *   connection (the coordinator re-issues them), and each hello re-announces availability.
 * - Once the coordinator said the run is finished, no task is executed again (each is given
 *   back); the volunteer stays connected, since its shard may still be served.
 * - Every hello carries the latest session; a connection dropped for a refused session is made
 *   again only with a new one.
 */
export class VolunteerMachine {
  private readonly s: VolunteerStats;
  private config: GptConfig | null = null;
  /** The codecs of the run's traffic (welcome): boundary tensors and gradient sums go out in them. */
  private traffic = TRAFFIC.exact;
  /** The weights the executor holds; null before the first load, while loading and after device loss. */
  private holding: { shard: number; version: number } | null = null;
  /** The weights being loaded, if any: announced ready once the executor holds them. */
  private loading: (ServerMessage<'weights'> & { parameters: number; connection: number }) | null = null;
  /** Counts dropped connections: weights that finish loading after a drop belong to the old one and are not announced. */
  private connections = 0;
  private running: RunningTask | null = null;
  /** Why it is paused (null when it is not): the reason every give-back while paused carries. */
  private pauseReason: string | null = null;
  private resting = false;
  private recovering = false;
  private stopped = false;
  private session: string | undefined;
  /** The coordinator refused the session and dropped the connection: it waits for a new session. */
  private sessionRefused = false;
  private backend: 'cpu' | 'webgpu';
  private readonly inbox: ServerInput[] = [];
  /** The whole weights last sent, for updates; the parameter gradients kept for `collect` (compact traffic). */
  private readonly sentWeights = new SentWeights();
  private readonly kept = new KeptGradients();
  private out: VolunteerAction[] = [];

  constructor(private readonly o: MachineOptions) {
    this.backend = o.backend;
    this.session = o.session;
    this.s = newStats(checkDutyCycle(o.dutyCycle ?? 1));
  }

  get stats(): VolunteerStats {
    return { ...this.s, layers: this.s.layers && [...this.s.layers], task: this.s.task && { ...this.s.task }, finished: this.s.finished && { ...this.s.finished } };
  }

  handle(input: VolunteerInput, now: number): VolunteerAction[] {
    this.out = [];
    if (this.stopped) this.settleAfterStop(input);
    else {
      this.apply(input);
      // a task queued behind the last one waits out a rest (the duty cycle) rather than being given back
      while (!this.busy && this.inbox.length > 0 && !(this.resting && this.inbox[0].type === 'task')) this.receive(this.inbox.shift()!, now);
    }
    return this.out;
  }

  private apply(input: VolunteerInput): void {
    switch (input.type) {
      case 'welcome':
      case 'weights':
      case 'task':
      case 'accepted':
      case 'refused':
      case 'finished':
        return void this.inbox.push(input);
      case 'connected':
        return this.connected();
      case 'disconnected':
        return this.disconnected(input.reason);
      case 'cancel':
        return this.cancel(input.message);
      case 'collect':
        return this.collect(input.message);
      case 'malformed':
        return this.report({ type: 'error', message: `${input.wire}: ${input.error}` });
      case 'loaded':
        return this.loaded();
      case 'load-failed':
        return this.loadFailed(input.error, input.deviceLost);
      case 'computed':
        return this.computed(input.leaseId, input.computeMs, input.output);
      case 'task-failed':
        return this.taskFailed(input.leaseId, input.error, input.deviceLost);
      case 'stretch-ended':
        return this.stretchEnded(input.leaseId);
      case 'rest-ended':
        return this.restEnded();
      case 'backend-recreated':
        return this.backendRecreated(input.backend);
      case 'backend-failed':
        return this.backendFailed(input.error);
      case 'pause':
        return this.pause(input.reason);
      case 'resume':
        return this.resume(input.reason);
      case 'set-duty-cycle':
        this.s.dutyCycle = checkDutyCycle(input.dutyCycle);
        return;
      case 'session':
        return this.newSession(input.session);
      case 'stop':
        return this.stop();
    }
  }

  /** A server message, taken from the inbox once no executor call is in flight. */
  private receive(input: ServerInput, now: number): void {
    switch (input.type) {
      case 'welcome':
        this.config = input.message.run.config;
        this.traffic = TRAFFIC[input.message.run.traffic];
        return this.report({ type: 'joined', run: input.message.run.id, volunteerId: input.message.volunteerId });
      case 'weights':
        return this.weights(input.message, input.tensors);
      case 'task':
        return this.task(input.message, input.tensors, now);
      case 'accepted':
        return this.accepted(input.message);
      case 'refused':
        // the coordinator drops the connection after this; the owner may sign in again (a 'session' input)
        if (input.message.code === 'session') this.sessionRefused = true;
        return this.report({ type: 'refused', code: input.message.code, message: input.message.message });
      case 'finished':
        return this.runFinished(input.message);
    }
  }

  private get busy(): boolean {
    return this.running !== null || this.loading !== null || this.recovering;
  }

  private get accepting(): boolean {
    return !this.s.paused && !this.resting && this.s.finished === null;
  }

  /** Why it takes no task now, for the coordinator. */
  private get unavailableReason(): string {
    return this.s.finished ? 'the run is complete' : (this.pauseReason ?? 'resting');
  }

  private connected(): void {
    this.s.connection = 'connected';
    this.report({ type: 'connected', detail: this.o.url });
    this.send({ wire: 'hello', message: { protocol: PROTOCOL_VERSION, name: this.o.name, backend: this.backend, ...(this.session ? { session: this.session } : {}) } });
    if (!this.accepting) this.send({ wire: 'availability', message: { accepting: false, reason: this.unavailableReason } });
  }

  private disconnected(reason: string): void {
    this.s.connection = this.s.connection === 'stopped' ? 'stopped' : 'reconnecting';
    this.report({ type: 'disconnected', detail: reason });
    this.connections += 1;
    // the coordinator computes a lost connection's gradients itself
    this.kept.clear();
    this.forgetLeases();
  }

  /** The coordinator re-issues every lease of a dropped connection: none of them may run or report. */
  private forgetLeases(): void {
    this.drop();
    for (let i = this.inbox.length - 1; i >= 0; i--) if (this.inbox[i].type === 'task') this.inbox.splice(i, 1);
  }

  private weights(m: ServerMessage<'weights'>, tensors: WireTensor[]): void {
    if (!this.config) return this.report({ type: 'error', message: 'weights: weights before welcome' });
    const whole = this.sentWeights.receive(m.version, m.base, tensors);
    if (typeof whole === 'string') {
      this.report({ type: 'error', message: `weights: ${whole}; connecting again for the whole weights` });
      if (this.s.connection === 'connected') this.out.push({ type: 'disconnect' }, { type: 'connect' });
      return;
    }
    this.kept.clear();
    this.holding = null;
    this.loading = { ...m, parameters: whole.reduce((a, t) => a + t.data.length, 0), connection: this.connections };
    this.out.push({ type: 'load', config: this.config, spec: m.shard, weights: whole });
  }

  private loaded(): void {
    const m = this.loading;
    if (!m) return;
    this.loading = null;
    // the new connection's coordinator sends this volunteer's weights again; these may be another shard's
    if (m.connection !== this.connections) return;
    const layers: [number, number] = [m.shard.firstLayer, m.shard.endLayer];
    this.holding = { shard: m.shard.index, version: m.version };
    const changed = this.s.shard !== m.shard.index;
    Object.assign(this.s, { shard: m.shard.index, layers, parameters: m.parameters, version: m.version });
    if (changed) this.report({ type: 'assigned', shard: m.shard.index, version: m.version, parameters: m.parameters, layers: [...layers] });
    this.send({ wire: 'ready', message: { shard: m.shard.index, version: m.version } });
  }

  private loadFailed(error: string, deviceLost: boolean): void {
    this.loading = null;
    if (deviceLost) this.recoverDevice(error);
    else this.report({ type: 'error', message: `weights: ${error}` });
  }

  private task(m: ServerMessage<'task'>, inputs: WireTensor[], now: number): void {
    const h = this.holding;
    if (!h || m.shard !== h.shard || m.version !== h.version) {
      return this.send({ wire: 'giveBack', message: { leaseId: m.leaseId, reason: `holding shard ${h?.shard ?? 'none'} version ${this.s.version}` } });
    }
    if (!this.accepting) return this.giveBack(m.leaseId, this.unavailableReason);
    this.running = { task: m, dropped: false, computed: null };
    this.s.task = { leaseId: m.leaseId, kind: m.kind, round: m.round, microBatch: m.microBatch, startedAt: now };
    this.out.push({ type: 'execute', leaseId: m.leaseId, task: m, inputs });
  }

  private computed(leaseId: string, computeMs: number, output: TaskOutput): void {
    const r = this.running;
    if (r?.task.leaseId !== leaseId || r.computed) return;
    this.s.busyMs += computeMs;
    if (r.dropped) return this.finish();
    r.computed = { computeMs, output };
    const slowdown = this.o.slowdown ?? 1;
    if (slowdown <= 1) return this.deliver(r.task, r.computed);
    this.out.push({ type: 'start-stretch', leaseId, ms: (slowdown - 1) * computeMs });
  }

  private stretchEnded(leaseId: string): void {
    const r = this.running;
    if (r?.task.leaseId === leaseId && r.computed && !r.dropped) this.deliver(r.task, r.computed);
  }

  /** Sends the result; a rest, if the duty cycle asks for one, is announced before it. */
  private deliver(task: ServerMessage<'task'>, { computeMs, output }: { computeMs: number; output: TaskOutput }): void {
    this.rest(computeMs);
    const sent = task.keepGradients ? this.kept.keep({ round: task.round, shard: task.shard, version: task.version }, task.microBatch, output.tensors) : output.tensors;
    const tensors = sent.map((t) => (BOUNDARY_TENSORS.includes(t.name) ? { ...t, codec: this.traffic.activations } : t));
    this.send({ wire: 'result', message: { leaseId: task.leaseId, computeMs, ...(output.loss !== undefined ? { loss: output.loss } : {}) }, tensors });
    this.s.tasksDone += 1;
    this.report({ type: 'task', kind: task.kind, shard: task.shard, round: task.round, microBatch: task.microBatch, computeMs });
    this.finish();
  }

  private taskFailed(leaseId: string, error: string, deviceLost: boolean): void {
    if (this.running?.task.leaseId !== leaseId) return;
    this.finish();
    if (deviceLost) this.recoverDevice(error);
    else this.report({ type: 'error', message: `task: ${error}` });
  }

  private finish(): void {
    this.running = null;
    this.s.task = null;
  }

  /** Drops the running task: its result will not be sent, and a --slowdown wait is cut short. */
  private drop(): void {
    const r = this.running;
    if (!r || r.dropped) return;
    r.dropped = true;
    if (!r.computed) return; // the executor still has it: it stays busy until its compute ends
    this.out.push({ type: 'cut-stretch', leaseId: r.task.leaseId });
    this.finish();
  }

  private cancel(m: ServerMessage<'cancel'>): void {
    if (this.running?.task.leaseId === m.leaseId) this.drop();
    else {
      const queued = this.inbox.findIndex((x) => x.type === 'task' && x.message.leaseId === m.leaseId);
      if (queued >= 0) this.inbox.splice(queued, 1);
    }
    this.report({ type: 'cancelled', leaseId: m.leaseId, reason: m.reason });
  }

  /** Compact traffic: the sum of the kept gradients the coordinator asks for. */
  private collect(m: ServerMessage<'collect'>): void {
    const sum = this.kept.sum(m.round, m.shard, m.microBatches, this.traffic.gradients);
    if (typeof sum === 'string') return this.report({ type: 'error', message: `collect: ${sum}` });
    this.send({ wire: 'gradients', message: { round: m.round, shard: m.shard, microBatches: m.microBatches }, tensors: sum });
  }

  private giveBack(leaseId: string, reason: string): void {
    if (this.running?.task.leaseId === leaseId) this.drop();
    this.send({ wire: 'giveBack', message: { leaseId, reason } });
    this.report({ type: 'gave-back', leaseId, reason });
  }

  /** Nothing more to train: it tells the coordinator it takes no task, once per run's end (every later hello brings the message again). */
  private runFinished(m: ServerMessage<'finished'>): void {
    if (this.s.finished?.rounds === m.round) return;
    const announce = this.accepting;
    this.s.finished = { rounds: m.round };
    if (announce) this.send({ wire: 'availability', message: { accepting: false, reason: this.unavailableReason } });
    this.report({ type: 'finished', rounds: m.round });
  }

  private newSession(session: string): void {
    this.session = session;
    if (!this.sessionRefused || this.s.connection === 'stopped') return;
    this.sessionRefused = false;
    // socket.io does not make a connection the server dropped again by itself; one still open is about to be dropped
    if (this.s.connection === 'connected') this.out.push({ type: 'disconnect' });
    this.out.push({ type: 'connect' });
  }

  private accepted(m: ServerMessage<'accepted'>): void {
    this.s.tasksAccepted += 1;
    this.s.flopsAccepted += m.flops;
    this.report({ type: 'accepted', leaseId: m.leaseId, round: m.round, flops: m.flops });
  }

  /** Stops taking tasks and gives back the one running now (its result would come too late to matter). */
  private pause(reason: string): void {
    if (this.s.paused) return;
    this.s.paused = true;
    this.pauseReason = reason;
    this.send({ wire: 'availability', message: { accepting: false, reason } });
    if (this.running && !this.running.dropped) this.giveBack(this.running.task.leaseId, reason);
    // and the tasks queued behind it, at once
    for (const queued of this.inbox.filter((x) => x.type === 'task')) this.giveBack(queued.message.leaseId, reason);
    this.inbox.splice(0, this.inbox.length, ...this.inbox.filter((x) => x.type !== 'task'));
    this.report({ type: 'paused', reason });
  }

  private resume(reason: string): void {
    if (!this.s.paused) return;
    this.s.paused = false;
    this.pauseReason = null;
    if (this.accepting) this.send({ wire: 'availability', message: { accepting: true, reason } });
    this.report({ type: 'resumed', reason });
  }

  /** Keeps the duty cycle: after c ms of work, c·(1 − d)/d ms without tasks. */
  private rest(computeMs: number): void {
    const d = this.s.dutyCycle;
    if (d >= 1) return;
    this.send({ wire: 'availability', message: { accepting: false, reason: 'resting' } });
    this.resting = true;
    this.out.push({ type: 'start-rest', ms: (computeMs * (1 - d)) / d });
  }

  private restEnded(): void {
    this.resting = false;
    if (this.accepting) this.send({ wire: 'availability', message: { accepting: true, reason: 'rested' } });
  }

  /** The device is gone with the shard's buffers: a new backend, then the weights again through a fresh connection. */
  private recoverDevice(message: string): void {
    this.report({ type: 'device-lost', message });
    this.holding = null;
    this.s.shard = null;
    this.s.connection = this.o.canRecreateBackend ? 'reconnecting' : 'stopped';
    this.forgetLeases();
    this.out.push({ type: 'disconnect' }); // the coordinator re-issues the task at once
    if (!this.o.canRecreateBackend) return;
    this.recovering = true;
    this.out.push({ type: 'recreate-backend' });
  }

  private backendRecreated(backend: 'cpu' | 'webgpu'): void {
    if (!this.recovering) return;
    this.recovering = false;
    this.backend = backend;
    this.out.push({ type: 'connect' });
  }

  private backendFailed(error: string): void {
    this.recovering = false;
    this.s.connection = 'stopped';
    this.report({ type: 'error', message: `a new backend after the device was lost: ${error}` });
  }

  private stop(): void {
    this.stopped = true;
    this.s.connection = 'stopped';
    if (this.resting) this.out.push({ type: 'cancel-rest' });
    this.resting = false;
    this.forgetLeases();
    this.inbox.length = 0;
    this.out.push({ type: 'disconnect' });
  }

  /** After stop only work already begun settles; nothing new starts and nothing is sent. */
  private settleAfterStop(input: VolunteerInput): void {
    if (input.type === 'disconnected') this.report({ type: 'disconnected', detail: input.reason });
    if (input.type === 'computed' || input.type === 'task-failed') this.finish();
    if (input.type === 'loaded' || input.type === 'load-failed') this.loading = null;
  }

  private send(m: WireMessage): void {
    if (this.s.connection === 'connected') this.out.push({ type: 'send', ...m });
  }

  private report(event: VolunteerEvent): void {
    this.out.push({ type: 'report', event });
  }
}
