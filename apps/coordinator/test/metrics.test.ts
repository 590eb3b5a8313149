import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CpuBackend } from '@openshard/tensor';
import { VolunteerClient } from '@openshard/volunteer';
import { Hono } from 'hono';
import { io } from 'socket.io-client';
import { afterAll, describe, expect, test } from 'vitest';
import type { Volunteer } from '../src/coordinator-io.ts';
import { buildApp } from '../src/http/app.ts';
import { readyRoutes } from '../src/http/health-routes.ts';
import type { CheckResult } from '../src/metrics/readiness.ts';
import { volunteerState } from '../src/metrics/volunteer-states.ts';
import { DEFAULT_COORDINATOR, startCoordinator, type CoordinatorOptions, type RunningCoordinator } from '../src/start-coordinator.ts';
import { parsePrometheusText, sampleValue, type MetricFamily } from './support/prometheus-text.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const freshDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'openshard-metrics-'));
  dirs.push(d);
  return d;
};

/** A micro network that checkpoints (and so serves its model) after every round; every result taken as it is, no stand-in. */
const SMALL: CoordinatorOptions = { ...DEFAULT_COORDINATOR, preset: 'micro', batch: 1, microBatches: 2, port: 0, evalEvery: 100, evalBatches: 1, checkpointEvery: 1, trust: null, standIn: null };
/** Tokens a round of SMALL trains: batch × micro-batches × the micro preset's context (32). */
const TOKENS_PER_ROUND = 1 * 2 * 32;
/** anvil's second dev account: any key will do, the chain is never reached. */
const PUBLISHER_KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';

async function scrape(url: string): Promise<Map<string, MetricFamily>> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheusText(await res.text());
}

async function ready(url: string): Promise<{ status: number; checks: CheckResult[] }> {
  const res = await fetch(`${url}/ready`);
  const body = (await res.json()) as { ready: boolean; checks: CheckResult[] };
  expect(body.ready).toBe(res.status === 200);
  return { status: res.status, checks: body.checks };
}

function startVolunteers(network: RunningCoordinator, names: string[]): VolunteerClient[] {
  return names.map((name) => {
    const v = new VolunteerClient({ url: network.server.url, name, backend: new CpuBackend() });
    v.start();
    return v;
  });
}

/** A port nothing listens on: bound, then closed again. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('/metrics and /ready of a running coordinator (loopback, SQLite)', () => {
  test('behavior: the counters follow a training network — rounds, tokens, task latency by kind, volunteers by backend and state, bytes — and refusals show up by code', async () => {
    const network = await startCoordinator({ ...SMALL, shards: 2, rounds: 3, dataDir: freshDir() });
    const url = network.server.url;
    const volunteers: VolunteerClient[] = [];
    try {
      expect(await (await fetch(`${url}/health`)).json()).toEqual({ round: 0, volunteers: 0 });
      const before = await scrape(url);
      for (const f of before.values()) expect(f.help, f.name).not.toBe('');
      expect(sampleValue(before, 'openshard_rounds_closed_total')).toBe(0);
      expect(sampleValue(before, 'openshard_round')).toBe(0);
      expect(sampleValue(before, 'openshard_tokens_trained_total')).toBe(0);
      expect(sampleValue(before, 'openshard_training_loss')).toBeNaN();
      expect(before.get('openshard_volunteers')!.samples.map((s) => s.value)).toEqual([0, 0, 0, 0, 0, 0]);
      expect(sampleValue(before, 'openshard_chain_errors_total', { source: 'epoch' })).toBe(0);
      expect(before.get('openshard_task_seconds')!.type).toBe('histogram');
      expect(before.get('process_cpu_user_seconds_total')!.type).toBe('counter');
      // a new run has no checkpoint yet, so no served model: not ready, and it says why
      const fresh = await ready(url);
      expect(fresh.status).toBe(503);
      expect(fresh.checks).toEqual([
        { name: 'store', ready: true },
        { name: 'model', ready: false, reason: expect.stringContaining('no model is served') },
      ]);

      // a hostile socket's unknown event; bad HTTP, also to the API, which answers errors in its own shape
      const hostile = io(url, { transports: ['websocket'], reconnection: false });
      const refused = new Promise<{ code: string }>((r) => hostile.on('refused', r));
      await new Promise<void>((r) => hostile.on('connect', () => r()));
      hostile.emit('steal-weights', {});
      expect(await refused).toMatchObject({ code: 'unknown-type' });
      hostile.close();
      expect((await fetch(`${url}/no-such-route`)).status).toBe(404);
      expect((await fetch(`${url}/siwe/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'not json' })).status).toBe(400);
      expect((await fetch(`${url}/v1/models/openshard-micro`)).status).toBe(503);
      const refusals = await scrape(url);
      expect(sampleValue(refusals, 'openshard_socket_refusals_total', { code: 'unknown-type' })).toBe(1);
      expect(sampleValue(refusals, 'openshard_http_refusals_total', { code: 'not-found', status: '404' })).toBe(1);
      expect(sampleValue(refusals, 'openshard_http_refusals_total', { code: 'bad-json', status: '400' })).toBe(1);
      expect(sampleValue(refusals, 'openshard_http_refusals_total', { code: 'model_not_ready', status: '503' })).toBe(1);
      const bytesIn = sampleValue(refusals, 'openshard_socket_bytes_received_total');

      const cpu = async (state: string) => sampleValue(await scrape(url), 'openshard_volunteers', { backend: 'cpu', state });
      // alone, alice holds shard 0 and can run only forwards: no shard steps, her weights stay current
      volunteers.push(...startVolunteers(network, ['alice']));
      await expect.poll(() => cpu('training'), { timeout: 30_000 }).toBe(1);
      // bob holds shard 1 but is paused from the start: still nothing steps
      const bob = new VolunteerClient({ url, name: 'bob', backend: new CpuBackend() });
      volunteers.push(bob);
      bob.pause();
      bob.start();
      await expect.poll(() => cpu('paused'), { timeout: 30_000 }).toBe(1);
      expect(await cpu('training')).toBe(1);
      expect(await cpu('loading')).toBe(0);
      bob.resume();
      await expect.poll(() => network.coordinator.finished, { timeout: 60_000 }).toBe(true);
      const after = await scrape(url);
      expect(sampleValue(after, 'openshard_rounds_closed_total')).toBe(3);
      expect(sampleValue(after, 'openshard_round')).toBe(3);
      const rounds = await network.stores.runs.rounds(network.runId);
      expect(sampleValue(after, 'openshard_tokens_trained_total')).toBe(3 * TOKENS_PER_ROUND);
      expect(rounds.reduce((a, r) => a + r.tokens, 0)).toBe(3 * TOKENS_PER_ROUND);
      expect(sampleValue(after, 'openshard_tokens_per_second')).toBeGreaterThan(0);
      expect(sampleValue(after, 'openshard_training_loss')).toBe(rounds.at(-1)!.loss);
      const states = after.get('openshard_volunteers')!.samples;
      expect(states.filter((s) => s.labels.backend === 'cpu').reduce((a, s) => a + s.value, 0)).toBe(2);
      for (const state of ['training', 'paused', 'loading']) expect(sampleValue(after, 'openshard_volunteers', { backend: 'webgpu', state })).toBe(0);
      // one observation per accepted task: the task log, kind by kind
      const committed = await network.stores.runs.tasks(network.runId);
      for (const kind of ['forward', 'lossAndBackward', 'backward']) {
        const n = committed.filter((t) => t.kind === kind).length;
        expect(n, kind).toBe(3 * 2);
        expect(sampleValue(after, 'openshard_task_seconds', { kind }, 'openshard_task_seconds_count'), kind).toBe(n);
        expect(sampleValue(after, 'openshard_task_seconds', { kind, le: '+Inf' }, 'openshard_task_seconds_bucket'), kind).toBe(n);
        expect(sampleValue(after, 'openshard_task_seconds', { kind }, 'openshard_task_seconds_sum'), kind).toBeGreaterThan(0);
      }
      expect(sampleValue(after, 'openshard_socket_bytes_received_total')).toBeGreaterThan(bytesIn);
      expect(sampleValue(after, 'openshard_socket_bytes_sent_total')).toBeGreaterThan(sampleValue(refusals, 'openshard_socket_bytes_sent_total'));

      // the checkpoints are served (loaded off the training path): ready
      await expect.poll(async () => (await ready(url)).status, { timeout: 30_000 }).toBe(200);
      expect((await ready(url)).checks).toEqual([
        { name: 'store', ready: true },
        { name: 'model', ready: true },
      ]);
    } finally {
      for (const v of volunteers) await v.stop();
      await network.close();
    }
  }, 120_000);

  test('error: with its chain RPC down, /ready answers 503 naming the chain; failed epochs and payment checks count as chain errors', async () => {
    const rpcUrl = `http://127.0.0.1:${await closedPort()}`;
    const network = await startCoordinator({
      ...SMALL,
      shards: 1,
      microBatches: 1,
      rounds: 1,
      dataDir: freshDir(),
      chain: { rpcUrl, chainId: 31337, distributor: `0x${'11'.repeat(20)}`, publisherKey: PUBLISHER_KEY },
      epochs: { everyRounds: 1, everyMs: 3_600_000 },
    });
    const url = network.server.url;
    const volunteers: VolunteerClient[] = [];
    try {
      const down = await ready(url);
      expect(down.status).toBe(503);
      expect(down.checks.find((c) => c.name === 'store')).toEqual({ name: 'store', ready: true });
      expect(down.checks.find((c) => c.name === 'chain')).toEqual({
        name: 'chain',
        ready: false,
        reason: expect.stringMatching(new RegExp(`chain RPC at ${rpcUrl} does not answer|no answer within`)),
      });

      volunteers.push(...startVolunteers(network, ['carol']));
      await expect.poll(() => network.coordinator.finished, { timeout: 60_000 }).toBe(true);
      // the checkpoint's epoch could not be closed: its revenue is read from the chain
      await expect.poll(async () => sampleValue(await scrape(url), 'openshard_chain_errors_total', { source: 'epoch' }), { timeout: 30_000 }).toBeGreaterThanOrEqual(1);

      await expect.poll(async () => ((await (await fetch(`${url}/v1/models`)).json()) as { data: unknown[] }).data.length, { timeout: 30_000 }).toBe(1);
      const complete = (headers: Record<string, string> = {}) =>
        fetch(`${url}/v1/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ model: 'openshard-micro', prompt: 'It', max_tokens: 1 }),
        });
      const quoted = await complete();
      expect(quoted.status).toBe(402);
      const { accepts } = (await quoted.json()) as { accepts: { extra: { requestId: string } }[] };
      const unchecked = await complete({ 'x-payment-id': accepts[0].extra.requestId });
      expect(unchecked.status).toBe(503);
      const m = await scrape(url);
      expect(sampleValue(m, 'openshard_http_refusals_total', { code: 'payment_required', status: '402' })).toBe(1);
      expect(sampleValue(m, 'openshard_http_refusals_total', { code: 'chain_unavailable', status: '503' })).toBe(1);
      expect(sampleValue(m, 'openshard_chain_errors_total', { source: 'payment' })).toBe(1);
      expect(sampleValue(m, 'openshard_epochs_published_total')).toBe(0);
      expect((await ready(url)).checks.find((c) => c.name === 'model')).toEqual({ name: 'model', ready: true });
    } finally {
      for (const v of volunteers) await v.stop();
      await network.close();
    }
  }, 120_000);

  test('error: /ready names every check that fails, throws or does not answer in time, and passes when all do', async () => {
    const never = new Promise<string | null>(() => {});
    const app = buildApp([
      readyRoutes(
        [
          { name: 'store', check: async () => null },
          { name: 'chain', check: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1\nmore detail')) },
          { name: 'model', check: async () => 'no model is served' },
          { name: 'slow', check: () => never },
        ],
        50,
      ),
    ]);
    const res = await app.request('/ready');
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      ready: false,
      checks: [
        { name: 'store', ready: true },
        { name: 'chain', ready: false, reason: 'connect ECONNREFUSED 127.0.0.1:1' },
        { name: 'model', ready: false, reason: 'no model is served' },
        { name: 'slow', ready: false, reason: 'no answer within 50 ms' },
      ],
    });
    const fine = await new Hono().route('/', readyRoutes([{ name: 'store', check: async () => null }])).request('/ready');
    expect(fine.status).toBe(200);
    expect(await fine.json()).toEqual({ ready: true, checks: [{ name: 'store', ready: true }] });
  });

  test('behavior: a volunteer is training on the current version, loading on any other (or none yet), paused while not accepting', () => {
    const v = { accepting: true, readyVersion: 4 } as Volunteer;
    expect(volunteerState(v, 4)).toBe('training');
    expect(volunteerState(v, 5)).toBe('loading');
    expect(volunteerState({ ...v, readyVersion: null }, 0)).toBe('loading');
    expect(volunteerState({ ...v, accepting: false }, 4)).toBe('paused');
  });
});
