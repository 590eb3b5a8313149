import { encode } from '@openshard/data';
import { DEFAULT_OPTIMIZER, Shard, type GptConfig } from '@openshard/model';
import { DEFAULT_LIMITS, packTensors, parseMessage, PROTOCOL_VERSION, serverMessages, type ServerMessage, type ServerMessageType, type WireTensor } from '@openshard/protocol';
import { CpuBackend } from '@openshard/tensor';
import { executeTask, VolunteerClient } from '@openshard/volunteer';
import { io, type Socket } from 'socket.io-client';
import { afterEach, describe, expect, test } from 'vitest';
import { Coordinator, type SessionVerifier } from '../src/coordinator.ts';
import { LeaseScheduler } from '../src/scheduler/leases.ts';
import { startCoordinatorServer, type FloodLimits } from '../src/server.ts';
import { TrainingRun, type RunOptions } from '../src/training/training-run.ts';
import { DEFAULT_TRUST } from '../src/trust/trust-book.ts';
import { Verification } from '../src/trust/verification.ts';

/**
 * Hostile clients that speak the protocol but abuse it (stale, never-held, replayed, stolen audit
 * leases; forged sessions; floods of messages and connections): each is refused, none is credited,
 * and the honest volunteers' training goes on.
 */
const CONFIG: GptConfig = { vocabSize: 256, contextLength: 8, layers: 2, heads: 2, width: 16 };
const TEXT = encode('A lease is a promise, not a licence to replay. '.repeat(12));
const OPTIONS: RunOptions = { config: CONFIG, shards: 2, batch: 2, microBatches: 2, seed: 3, optimizer: { ...DEFAULT_OPTIMIZER, warmupSteps: 2, decaySteps: 20 } };
const FLOOD: FloodLimits = { connectionsPerAddress: 8, messagesPerSecond: 20, messageBurst: 40 };
const sessions: SessionVerifier = {
  addressOf(token) {
    if (!/^session-for-0x[0-9a-f]{40}$/.test(token)) throw new Error('the token was not issued here');
    return token.slice('session-for-'.length);
  },
};

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function network(rounds: number) {
  let closed = 0;
  const notices: string[] = [];
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  const coordinator = new Coordinator(
    new TrainingRun(new CpuBackend(), TEXT, OPTIONS),
    new LeaseScheduler(),
    'run',
    {
      roundClosed: () => {
        if (++closed === rounds) finish();
      },
      notice: (kind, text) => notices.push(`${kind}: ${text}`),
    },
    rounds,
    sessions,
    new Verification({ ...DEFAULT_TRUST, auditWaitMs: 500, auditRate: 1 }),
  );
  const server = await startCoordinatorServer(coordinator, { limits: { ...DEFAULT_LIMITS, maxMessageBytes: 1 << 20 }, flood: FLOOD });
  cleanup.push(() => server.close());
  for (let i = 0; i < 2; i++) {
    const v = new VolunteerClient({ url: server.url, name: `honest-${i}`, backend: new CpuBackend() });
    v.start();
    cleanup.push(() => v.stop());
  }
  return { coordinator, server, finished, notices };
}

/** A client of our own: speaks the protocol, computes honestly with our kernels, and lets the test send whatever it likes. */
class RawClient {
  readonly socket: Socket;
  readonly refusals: { code: string; message: string }[] = [];
  readonly accepted: string[] = [];
  private shard: Shard | null = null;
  private readonly tasks: { message: ServerMessage<'task'>; tensors: WireTensor[] }[] = [];
  private taskWaiter: (() => void) | null = null;

  constructor(url: string, name: string, session?: string) {
    this.socket = io(url, { transports: ['websocket'], reconnection: false });
    this.socket.on('connect', () => this.socket.emit('hello', { protocol: PROTOCOL_VERSION, name, backend: 'cpu', ...(session ? { session } : {}) }));
    this.socket.on('refused', (m) => this.refusals.push(m));
    this.socket.on('accepted', (m) => this.accepted.push(m.leaseId));
    this.socket.on('weights', (json: unknown, ...att: unknown[]) => {
      const { message, tensors } = this.parse('weights', json, att);
      const byName = new Map(tensors.map((t) => [t.name, t.data as Float32Array]));
      this.shard?.dispose();
      this.shard = Shard.fromValues(new CpuBackend(), CONFIG, message.shard, (p) => byName.get(p.name)!);
      this.socket.emit('ready', { shard: message.shard.index, version: message.version });
    });
    this.socket.on('task', (json: unknown, ...att: unknown[]) => {
      const { message, tensors } = this.parse('task', json, att);
      this.tasks.push({ message, tensors });
      this.taskWaiter?.();
    });
    cleanup.push(async () => void this.socket.close());
  }

  /** The next task it is given, computed honestly (not sent). */
  async computeNext(): Promise<{ leaseId: string; headers: unknown[]; attachments: Uint8Array[]; loss?: number }> {
    while (!this.tasks.length) await new Promise<void>((r) => (this.taskWaiter = r));
    const { message, tensors } = this.tasks.shift()!;
    const out = await executeTask(this.shard!, message.kind, tensors, message.lossScale);
    const { headers, attachments } = packTensors(out.tensors);
    return { leaseId: message.leaseId, headers, attachments, loss: out.loss };
  }

  send(r: { leaseId: string; headers: unknown[]; attachments: Uint8Array[]; loss?: number }, leaseId = r.leaseId): void {
    this.socket.emit('result', { leaseId, computeMs: 1, tensors: r.headers, ...(r.loss === undefined ? {} : { loss: r.loss }) }, ...r.attachments);
  }

  async refusal(code: string): Promise<{ code: string; message: string }> {
    for (let i = 0; i < 200; i++) {
      const found = this.refusals.find((x) => x.code === code);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`no '${code}' refusal; got ${JSON.stringify(this.refusals)}`);
  }

  private parse<K extends ServerMessageType>(type: K, json: unknown, att: unknown[]) {
    return parseMessage(serverMessages, type, json, att, { finite: true }) as { message: ServerMessage<K>; tensors: WireTensor[] };
  }
}

async function until(ok: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (ok()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('hostile clients at the protocol level (real sockets)', () => {
  test('error: a replayed result, a result for a lease never held, a stolen audit lease and a stale result are refused and earn nothing', async () => {
    const { server, coordinator, finished, notices } = await network(24);
    const mallory = new RawClient(server.url, 'mallory');
    // a newcomer may be given audits of the others' results first (they hold a task and the next): answered honestly
    let first = await mallory.computeNext();
    while (first.leaseId.startsWith('A')) {
      mallory.send(first);
      first = await mallory.computeNext();
    }
    mallory.send(first);
    // a newcomer's result waits for its audit: sent again meanwhile, and again once accepted, it is a replay
    mallory.send(first);
    expect((await mallory.refusal('duplicate')).message).toContain(`lease ${first.leaseId} was already answered`);
    await until(() => mallory.accepted.includes(first.leaseId), 'the honest result to be accepted after its audit');
    mallory.send(first);
    await until(() => mallory.refusals.filter((r) => r.code === 'duplicate').length === 2, 'the replay to be refused');
    mallory.send(first, 'L99999');
    expect((await mallory.refusal('not-leased')).message).toContain('lease L99999 was never given to you');
    // from now on it answers honestly, so the rounds go on
    void (async () => {
      for (;;) mallory.send(await mallory.computeNext());
    })();
    // a third volunteer answers its tasks but holds the first audit it is given: mallory answers that audit instead
    const holder = new RawClient(server.url, 'holder');
    let held: Awaited<ReturnType<RawClient['computeNext']>> | null = null;
    void (async () => {
      for (;;) {
        const r = await holder.computeNext();
        if (r.leaseId.startsWith('A') && held === null) held = r;
        else holder.send(r);
      }
    })();
    await until(() => held !== null, 'an audit given to the holder');
    const stolen = held!.leaseId;
    expect(coordinator.verification!.audits.get(stolen)?.auditor?.name).toBe('holder');
    mallory.send(first, stolen);
    await until(() => mallory.refusals.some((r) => r.code === 'not-leased' && r.message.includes(`lease ${stolen} was never given to you`)), 'the stolen audit lease to be refused');
    // the theft took nothing from the holder: its own answer is still taken
    holder.send(held!);
    await until(() => holder.accepted.includes(stolen), "the holder's audit to be accepted");
    // once the rounds are over, the first result comes back once more
    await finished;
    mallory.send(first);
    expect((await mallory.refusal('stale')).message).toContain(`lease ${first.leaseId} belongs to an earlier round`);
    expect(mallory.accepted.filter((l) => l === first.leaseId)).toHaveLength(1);
    const names = [...coordinator.volunteers.values()].map((v) => v.name).sort();
    expect(names, notices.filter((n) => /^(leave|cheat|refused)/.test(n)).join('\n')).toEqual(['holder', 'honest-0', 'honest-1', 'mallory']);
  }, 60_000);

  test('error: a forged session is refused by name and the connection dropped; training goes on', async () => {
    const { server, finished } = await network(2);
    const forger = new RawClient(server.url, 'forger', 'session-for-not-an-address');
    const dropped = new Promise<void>((r) => forger.socket.on('disconnect', () => r()));
    expect((await forger.refusal('session')).message).toContain('session refused: the token was not issued here');
    await dropped;
    await finished;
  }, 60_000);

  test('error: a flood of messages cuts the connection off; a flood of connections from one address is refused beyond the limit; training goes on', async () => {
    const { server, finished, notices } = await network(2);
    const noisy = new RawClient(server.url, 'noisy');
    await until(() => noisy.socket.connected, 'the noisy client to connect');
    const dropped = new Promise<void>((r) => noisy.socket.on('disconnect', () => r()));
    for (let i = 0; i < FLOOD.messageBurst * 3; i++) noisy.socket.emit('availability', { accepting: i % 2 === 0, reason: 'noise' });
    expect((await noisy.refusal('flood')).message).toContain(`more than ${FLOOD.messagesPerSecond} messages per second`);
    await dropped;
    // the operator sees it on the dashboard (and in /metrics' refusals by code)
    expect(notices.some((n) => n.startsWith('refused: ') && n.includes('(flood)'))).toBe(true);
    const crowd = Array.from({ length: FLOOD.connectionsPerAddress + 4 }, (_, i) => new RawClient(server.url, `crowd-${i}`));
    await until(() => crowd.filter((c) => c.refusals.some((r) => r.code === 'flood')).length >= 4, 'connections beyond the limit to be refused');
    expect(crowd.find((c) => c.refusals.some((r) => r.code === 'flood'))!.refusals[0].message).toMatch(/connections open; at most 8 are allowed/);
    for (const c of crowd) c.socket.close();
    await finished;
  }, 60_000);
});
