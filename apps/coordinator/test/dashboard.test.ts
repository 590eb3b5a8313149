import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DASHBOARD_NAMESPACE, type DashboardEvent, type DashboardSnapshot, type LiveStats, type RoundPoint, type ValidationPoint } from '@openshard/protocol';
import { CpuBackend } from '@openshard/tensor';
import { VolunteerClient } from '@openshard/volunteer';
import { io, type Socket } from 'socket.io-client';
import { afterAll, describe, expect, test } from 'vitest';
import { loadReferenceCurve } from '../src/dashboard/reference-curve.ts';
import { quantile } from '../src/dashboard/telemetry.ts';
import { runOptimizer } from '../src/run/run-spec.ts';
import { DEFAULT_COORDINATOR, startCoordinator } from '../src/start-coordinator.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const freshDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'openshard-dashboard-'));
  dirs.push(d);
  return d;
};

function until<T>(check: () => T | undefined | null | false, what: string, ms = 60_000): Promise<T> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const poll = () => {
      const v = check();
      if (v) return resolve(v as T);
      if (Date.now() - started > ms) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(poll, 20);
    };
    poll();
  });
}

describe('the dashboard namespace (loopback sockets, SQLite)', () => {
  test('behavior: a dashboard gets the history on connection, then live rounds, validation, events and stats; a late one gets the same history, also after a restart', async () => {
    const options = { ...DEFAULT_COORDINATOR, preset: 'micro', shards: 2, batch: 1, microBatches: 2, rounds: 6, port: 0, dataDir: freshDir(), evalEvery: 2, evalBatches: 1 };
    const network = await startCoordinator(options);
    let measured: ValidationPoint[] = [];
    const volunteers: VolunteerClient[] = [];
    const sockets: Socket[] = [];
    try {
      const seen = { snapshot: null as DashboardSnapshot | null, rounds: [] as RoundPoint[], validation: [] as ValidationPoint[], events: [] as DashboardEvent[], stats: [] as LiveStats[] };
      const first = io(network.server.url + DASHBOARD_NAMESPACE, { transports: ['websocket'] });
      sockets.push(first);
      first.on('snapshot', (s: DashboardSnapshot) => (seen.snapshot = s));
      first.on('round', (r: RoundPoint) => seen.rounds.push(r));
      first.on('validation', (v: ValidationPoint) => seen.validation.push(v));
      first.on('event', (e: DashboardEvent) => seen.events.push(e));
      first.on('stats', (s: LiveStats) => seen.stats.push(s));
      const snapshot = await until(() => seen.snapshot, 'the snapshot');
      expect(snapshot.run).toMatchObject({ preset: 'micro', shards: 2, batch: 1, microBatches: 2, rounds: 6, tokensPerRound: 64 });
      expect(snapshot.rounds).toEqual([]);
      // the untrained model: about ln 256 nats per byte
      expect(snapshot.validation).toHaveLength(1);
      expect(snapshot.validation[0].round).toBe(0);
      expect(snapshot.validation[0].loss).toBeCloseTo(Math.log(256), 0);
      expect(snapshot.reference).toBeNull();

      for (const name of ['alice', 'bob']) {
        const v = new VolunteerClient({ url: network.server.url, name, backend: new CpuBackend() });
        v.start();
        volunteers.push(v);
      }
      await until(() => network.coordinator.finished, 'the run to finish', 120_000);
      await until(() => seen.stats.some((s) => s.round === 6), 'stats of the finished run');
      expect(seen.rounds.map((r) => r.round)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(seen.validation.map((v) => v.round)).toEqual([2, 4, 6]);
      expect(
        seen.events
          .filter((e) => e.kind === 'join')
          .map((e) => e.text)
          .sort(),
      ).toEqual(['alice joined (cpu) and holds shard 0', 'bob joined (cpu) and holds shard 1']);
      expect(seen.events.some((e) => e.kind === 'finished')).toBe(true);
      const last = seen.stats.at(-1)!;
      expect(last.volunteers.map((v) => v.name).sort()).toEqual(['alice', 'bob']);
      expect(last.shards.map((s) => s.volunteers)).toEqual([1, 1]);
      expect(last.latency!.samples).toBeGreaterThan(0);
      expect(last.bytesIn).toBeGreaterThan(0);
      // effects are delivered through each socket's room, and still counted
      expect(last.bytesOut).toBeGreaterThan(0);
      expect(last.maxExposure).toBeGreaterThan(0);
      expect(last.maxExposure).toBeLessThan(1);
      // what each volunteer was told it earned is what the coordinator committed for it
      for (const v of volunteers) {
        const name = v === volunteers[0] ? 'alice' : 'bob';
        const logged = (await network.stores.runs.tasks(network.runId)).filter((t) => t.volunteer === name);
        expect(v.stats.tasksAccepted).toBe(logged.length);
        expect(v.stats.flopsAccepted).toBe(logged.reduce((a, t) => a + t.flops, 0));
      }

      const late = io(network.server.url + DASHBOARD_NAMESPACE, { transports: ['websocket'] });
      sockets.push(late);
      const history = await new Promise<DashboardSnapshot>((resolve) => late.on('snapshot', resolve));
      expect(history.rounds).toEqual(seen.rounds);
      expect(history.validation.map((v) => v.round)).toEqual([0, 2, 4, 6]);
      expect(history.events.map((e) => e.text)).toEqual(seen.events.map((e) => e.text));
      expect(history.stats.length).toBeGreaterThan(0);
      measured = history.validation;
    } finally {
      for (const s of sockets) s.disconnect();
      for (const v of volunteers) await v.stop();
      await network.close();
    }
    // resumed from the checkpoint after round 6: the history is the same, the checkpoint's validation included
    const resumed = await startCoordinator(options);
    const again = io(resumed.server.url + DASHBOARD_NAMESPACE, { transports: ['websocket'] });
    try {
      const history = await new Promise<DashboardSnapshot>((resolve) => again.on('snapshot', resolve));
      expect(history.rounds.map((r) => r.round)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(history.validation.map((v) => [v.round, v.loss])).toEqual(measured.map((v) => [v.round, v.loss]));
    } finally {
      again.disconnect();
      await resumed.close();
    }
  }, 180_000);

  test('error: the namespace is read-only: a dashboard that sends anything is told so and disconnected, and it never becomes a volunteer', async () => {
    const network = await startCoordinator({ ...DEFAULT_COORDINATOR, preset: 'micro', shards: 1, rounds: 2, port: 0, dataDir: freshDir(), evalBatches: 1 });
    try {
      const s = io(network.server.url + DASHBOARD_NAMESPACE, { transports: ['websocket'], reconnection: false });
      await new Promise((r) => s.on('snapshot', r));
      const refused = new Promise((r) => s.on('refused', r));
      const gone = new Promise((r) => s.on('disconnect', r));
      s.emit('result', { leaseId: 'L0', computeMs: 1, tensors: [] });
      expect(await refused).toEqual({ code: 'read-only', message: "the dashboard namespace accepts no events; received 'result'" });
      await gone;
      expect(network.coordinator.volunteers.size).toBe(0);
    } finally {
      await network.close();
    }
  });
});

describe('reference curve (npm run train output)', () => {
  const options = { shards: 1, batch: 2, microBatches: 1, seed: 3, optimizer: runOptimizer(10) };
  const corpus = { source: 'brown', trainBytes: 10, trainCrc32: 'abc' };
  const folder = (run: object, metrics: string) => {
    const d = freshDir();
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, 'run.json'), JSON.stringify(run));
    writeFileSync(join(d, 'metrics.jsonl'), metrics);
    return d;
  };

  test('behavior: steps become rounds, training and validation losses merge per step', () => {
    const d = folder(
      { options: { ...options, shards: 4 }, corpus },
      '{"step":0,"validationLoss":5.5}\n{"step":1,"loss":5.4,"learningRate":1}\n{"step":2,"loss":5.1}\n{"step":2,"validationLoss":5.2}\n',
    );
    expect(loadReferenceCurve(d, options, corpus)).toEqual([
      { round: 0, validationLoss: 5.5 },
      { round: 1, loss: 5.4 },
      { round: 2, loss: 5.1, validationLoss: 5.2 },
    ]);
  });

  test('error: a run with other options or data, or a damaged metrics file, is refused naming the difference', () => {
    expect(() => loadReferenceCurve(folder({ options: { ...options, batch: 8 }, corpus }, ''), options, corpus)).toThrow(/was trained with batch 8, this run with 2/);
    expect(() => loadReferenceCurve(folder({ options, corpus: { ...corpus, trainCrc32: 'def' } }, ''), options, corpus)).toThrow(/not on brown/);
    expect(() => loadReferenceCurve(folder({ options, corpus }, '{"step":1}\nnot json\n'), options, corpus)).toThrow(/line 2 is not JSON/);
    expect(() => loadReferenceCurve(folder({ options, corpus }, '{"step":"1"}\n'), options, corpus)).toThrow(/line 1 has step "1", expected an integer/);
  });
});

test('behavior: quantile is nearest-rank', () => {
  const v = Array.from({ length: 100 }, (_, i) => i + 1);
  expect([quantile(v, 0.5), quantile(v, 0.9), quantile(v, 0.99), quantile([7], 0.99)]).toEqual([50, 90, 99, 7]);
  expect(() => quantile([], 0.5)).toThrow(RangeError);
});
