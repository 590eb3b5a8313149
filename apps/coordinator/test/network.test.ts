import { encode } from '@openshard/data';
import { DEFAULT_OPTIMIZER, type GptConfig } from '@openshard/model';
import { CpuBackend } from '@openshard/tensor';
import { Trainer } from '@openshard/trainer';
import { VolunteerClient, type VolunteerEvent } from '@openshard/volunteer';
import { DEFAULT_LIMITS, PROTOCOL_VERSION } from '@openshard/protocol';
import { io } from 'socket.io-client';
import { afterEach, describe, expect, test } from 'vitest';
import { Coordinator } from '../src/coordinator.ts';
import { LeaseScheduler } from '../src/scheduler/leases.ts';
import { startCoordinatorServer, type CoordinatorServer } from '../src/server.ts';
import { TrainingRun, type RunOptions, type RoundSummary } from '../src/training/training-run.ts';

const CONFIG: GptConfig = { vocabSize: 256, contextLength: 8, layers: 3, heads: 2, width: 16 };
const TEXT = encode('Volunteers come and go; the loss sequence stays the same. '.repeat(10));
const OPTIONS: RunOptions = { config: CONFIG, shards: 3, batch: 2, microBatches: 3, seed: 11, optimizer: { ...DEFAULT_OPTIMIZER, warmupSteps: 2, decaySteps: 20 } };
const ROUNDS = 3;

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function startNetwork(onRound: (s: RoundSummary) => void): Promise<{ server: CoordinatorServer; coordinator: Coordinator }> {
  const coordinator = new Coordinator(new TrainingRun(new CpuBackend(), TEXT, OPTIONS), new LeaseScheduler(), 'test-run', { roundClosed: onRound });
  // small enough that a hostile frame can exceed it cheaply, large enough for this model's gradients
  const server = await startCoordinatorServer(coordinator, { limits: { ...DEFAULT_LIMITS, maxMessageBytes: 1 << 20 } });
  cleanup.push(() => server.close());
  return { server, coordinator };
}

function volunteer(url: string, name: string, log: VolunteerEvent[] = []): VolunteerClient {
  const v = new VolunteerClient({ url, name, backend: new CpuBackend(), onEvent: (e) => log.push(e) });
  v.start();
  cleanup.push(() => v.stop());
  return v;
}

async function referenceLosses(): Promise<number[]> {
  const t = new Trainer(new CpuBackend(), TEXT, OPTIONS);
  const out = [];
  for (let i = 0; i < ROUNDS; i++) out.push((await t.trainStep()).loss);
  return out;
}

describe('coordinator and volunteers over Socket.IO (loopback, one process)', () => {
  test('behavior: three volunteers, one per shard, train rounds with the single-process losses', async () => {
    const expected = await referenceLosses();
    const losses: number[] = [];
    const done = new Promise<void>((resolve) => {
      void startNetwork((s) => {
        losses.push(s.loss);
        if (losses.length === ROUNDS) resolve();
      }).then(({ server, coordinator }) => {
        const logs: VolunteerEvent[][] = [[], [], []];
        for (let i = 0; i < 3; i++) volunteer(server.url, `v${i}`, logs[i]);
        cleanup.push(async () => {
          const shards = logs.map((l) => l.find((e) => e.type === 'assigned')).map((e) => e && e.type === 'assigned' && e.shard);
          expect(new Set(shards)).toEqual(new Set([0, 1, 2]));
          expect(coordinator.maxExposure()).toBeLessThan(0.5);
        });
      });
    });
    await done;
    losses.forEach((l, i) => expect(Math.abs(l - expected[i]) / expected[i], `round ${i}`).toBeLessThanOrEqual(1e-5));
  });

  test('error: a hostile client gets a refusal for each bad message, is disconnected after repeated abuse, and training is unaffected', async () => {
    const expected = await referenceLosses();
    const losses: number[] = [];
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const { server } = await startNetwork((s) => {
      losses.push(s.loss);
      if (losses.length === ROUNDS) resolve();
    });
    for (let i = 0; i < 3; i++) volunteer(server.url, `v${i}`);
    const hostile = io(server.url, { transports: ['websocket'], reconnection: false });
    cleanup.push(async () => void hostile.close());
    const refusals: { code: string; message: string }[] = [];
    hostile.on('refused', (m) => refusals.push(m));
    const disconnected = new Promise<void>((r) => hostile.on('disconnect', () => r()));
    await new Promise<void>((r) => hostile.on('connect', () => r()));
    hostile.emit('hello', { protocol: PROTOCOL_VERSION, name: 'mallory', backend: 'cpu' });
    hostile.emit('steal-weights', {});
    hostile.emit('result', { leaseId: 'L0', computeMs: 1, tensors: [] });
    hostile.emit('result', { leaseId: 'L0', computeMs: 1, tensors: [{ name: 'y', dtype: 'f32', shape: [2], codec: 'fp32' }] }, new Uint8Array(8));
    hostile.emit('ready', { shard: 99, version: 0, address: '0xdead' });
    hostile.emit('result', { leaseId: 'L1', computeMs: 1, tensors: [{ name: 'y', dtype: 'f32', shape: [2], codec: 'fp32' }] }, new Uint8Array(new Float32Array([1, NaN]).buffer));
    hostile.emit('giveBack', { leaseId: 'x'.repeat(1000), reason: 'no' });
    await disconnected;
    // a frame above the size limit: the connection is closed before anything is parsed
    const flooder = io(server.url, { transports: ['websocket'], reconnection: false });
    cleanup.push(async () => void flooder.close());
    await new Promise<void>((r) => flooder.on('connect', () => r()));
    const dropped = new Promise<string>((r) => flooder.on('disconnect', (reason) => r(reason)));
    flooder.emit('hello', { protocol: PROTOCOL_VERSION, name: 'flood', backend: 'cpu' });
    flooder.emit('result', { leaseId: 'L0', computeMs: 1, tensors: [{ name: 'y', dtype: 'f32', shape: [1 << 19], codec: 'fp32' }] }, new Uint8Array(1 << 21));
    expect(await dropped).toBe('transport close');
    await done;
    expect(refusals.map((r) => r.code)).toEqual(['unknown-type', 'not-leased', 'not-leased', 'bad-message', 'non-finite', 'bad-message']);
    expect(refusals[0].message).toContain('unknown message type "steal-weights"');
    losses.forEach((l, i) => expect(Math.abs(l - expected[i]) / expected[i], `round ${i}`).toBeLessThanOrEqual(1e-5));
  });
});
