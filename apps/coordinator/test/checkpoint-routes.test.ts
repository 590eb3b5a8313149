import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { splitCorpus } from '@openshard/data';
import type { CheckpointView } from '@openshard/protocol';
import { CpuBackend } from '@openshard/tensor';
import { loadModel } from '@openshard/trainer';
import { VolunteerClient } from '@openshard/volunteer';
import { afterAll, describe, expect, test } from 'vitest';
import { buildApp } from '../src/http/app.ts';
import { checkpointRoutes, committedCheckpoint } from '../src/http/checkpoint-routes.ts';
import { openRun } from '../src/run/open-run.ts';
import { DEFAULT_COORDINATOR, startCoordinator } from '../src/start-coordinator.ts';
import { openSqliteStores } from '../src/store/sqlite/open-sqlite-stores.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const freshDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'openshard-checkpoints-'));
  dirs.push(d);
  return d;
};

const bytesOf = async (r: Response) => new Uint8Array(await r.arrayBuffer());

describe('GET /checkpoints/latest (a run opened on SQLite, checkpoints written by the run itself)', () => {
  test('behavior: 404 before the first checkpoint; then the list, and downloads equal to the files on disk', async () => {
    const dataDir = freshDir();
    const stores = await openSqliteStores(join(dataDir, 'openshard.sqlite'));
    const corpus = splitCorpus('pangrams', [
      { name: 'a', text: 'The quick brown fox jumps over the lazy dog. '.repeat(40) },
      { name: 'b', text: 'Pack my box with five dozen liquor jugs. '.repeat(40) },
    ]);
    const opened = await openRun(stores.runs, dataDir, corpus, new CpuBackend(), { preset: 'micro', shards: 2, batch: 1, microBatches: 2, seed: 5, rounds: 4, traffic: 'compact' });
    try {
      const app = buildApp([checkpointRoutes(committedCheckpoint(stores.runs, opened.id))]);
      const none = await app.request('/checkpoints/latest');
      expect(none.status).toBe(404);
      expect(await none.json()).toMatchObject({ error: 'no-checkpoint' });
      expect((await app.request('/checkpoints/latest/model.safetensors')).status).toBe(404);

      await stores.runs.recordMetric(opened.id, 0, 'validationLoss', 5.5432, 1_000);
      await opened.checkpoint();
      const folder = (await stores.runs.latestRun())!.checkpoint!;
      const listed = await app.request('/checkpoints/latest');
      expect(listed.status).toBe(200);
      expect(listed.headers.get('cache-control')).toBe('no-store');
      const view = (await listed.json()) as CheckpointView;
      expect(view).toMatchObject({ round: 0, name: 'step-000000', validation: { round: 0, loss: 5.5432, at: 1_000 } });
      expect(view.files).toEqual(['model.safetensors', 'config.json', 'README.md'].map((name) => ({ name, bytes: statSync(join(folder, name)).size, url: `/checkpoints/latest/${name}` })));

      const copy = freshDir();
      for (const f of view.files) {
        const r = await app.request(f.url);
        expect(r.status, f.name).toBe(200);
        const body = await bytesOf(r);
        expect(body, f.name).toEqual(new Uint8Array(readFileSync(join(folder, f.name))));
        expect(r.headers.get('content-length')).toBe(String(f.bytes));
        expect(r.headers.get('x-checkpoint-round')).toBe('0');
        writeFileSync(join(copy, f.name), body);
      }
      const weights = await app.request('/checkpoints/latest/model.safetensors');
      expect(weights.headers.get('content-type')).toBe('application/octet-stream');
      expect(weights.headers.get('content-disposition')).toBe('attachment; filename="model.safetensors"');
      expect((await app.request('/checkpoints/latest/config.json')).headers.get('content-type')).toBe('application/json');
      // HEAD: the size and type without a body (and without a file left open)
      const head = await app.request('/checkpoints/latest/model.safetensors', { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe(String(statSync(join(copy, 'model.safetensors')).size));
      expect((await head.arrayBuffer()).byteLength).toBe(0);
      // kept by the client and revalidated: while the checkpoint is the same, its file is a 304 without a body
      const etag = weights.headers.get('etag')!;
      expect(etag).toBe(head.headers.get('etag'));
      expect(etag).toMatch(/^W\/"[0-9a-f]+-[0-9a-f]+"$/);
      for (const method of ['GET', 'HEAD']) {
        const again = await app.request('/checkpoints/latest/model.safetensors', { method, headers: { 'if-none-match': etag } });
        expect(again.status, method).toBe(304);
        expect((await again.arrayBuffer()).byteLength, method).toBe(0);
      }
      expect((await app.request('/checkpoints/latest/model.safetensors', { headers: { 'if-none-match': 'W/"0-0"' } })).status).toBe(200);
      const card = await app.request('/checkpoints/latest/README.md');
      expect(card.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
      const text = await card.text();
      expect(text).toContain('# openshard-micro, round 0 of 4');
      expect(text).toContain('| validation loss | 5.5432 after round 0 |');
      expect(text).toContain('The text of `pangrams`');
      // the run's traffic, from its spec, says how the steps were taken
      expect(text).toContain('Traffic was compact');

      // the downloads alone are a model: the same weights the run holds
      const loaded = loadModel(copy);
      const held = await opened.run.parameterValues();
      for (const [name, values] of held) expect(loaded.values.get(name), name).toEqual(values);
    } finally {
      opened.run.dispose();
      await stores.close();
    }
  });

  test("error: only the folder's Hugging Face files are offered: no optimizer state, no other name, no path", async () => {
    const dataDir = freshDir();
    const stores = await openSqliteStores(join(dataDir, 'openshard.sqlite'));
    const corpus = splitCorpus('pangrams', [{ name: 'a', text: 'Sphinx of black quartz, judge my vow. '.repeat(60) }]);
    const opened = await openRun(stores.runs, dataDir, corpus, new CpuBackend(), { preset: 'micro', shards: 1, batch: 1, microBatches: 1, seed: 5, rounds: 2, traffic: 'exact' });
    try {
      await opened.checkpoint();
      const app = buildApp([checkpointRoutes(committedCheckpoint(stores.runs, opened.id))]);
      for (const name of ['optimizer.safetensors', 'trainer.json', '..%2F..%2Fopenshard.sqlite', '..%2Flatest', 'README.MD', '__proto__', 'constructor', 'toString']) {
        const r = await app.request(`/checkpoints/latest/${name}`);
        expect(r.status, name).toBe(404);
        expect(await r.json(), name).toMatchObject({ error: 'not-a-checkpoint-file' });
      }
      for (const path of [
        '/checkpoints/latest/../../openshard.sqlite',
        '/checkpoints/latest/%2E%2E',
        '/checkpoints/latest/checkpoints/step-000000/optimizer.safetensors',
        '/checkpoints/step-000000/model.safetensors',
      ]) {
        const r = await app.request(path);
        expect(r.status, path).toBe(404);
        expect(((await r.json()) as { error: string }).error, path).not.toBe(undefined);
      }
      // allowed, but not written by this run: said so
      const absent = await app.request('/checkpoints/latest/generation_config.json');
      expect(absent.status).toBe(404);
      expect(await absent.json()).toMatchObject({ error: 'not-in-checkpoint', message: 'the checkpoint of round 0 (step-000000) has no generation_config.json' });
    } finally {
      opened.run.dispose();
      await stores.close();
    }
  });
});

describe('a network run to its end (loopback sockets, two volunteers)', () => {
  test('behavior: the final checkpoint is offered with a model card counting the volunteers and the final validation loss', async () => {
    const network = await startCoordinator({
      ...DEFAULT_COORDINATOR,
      preset: 'micro',
      shards: 2,
      batch: 1,
      microBatches: 2,
      rounds: 4,
      port: 0,
      dataDir: freshDir(),
      evalEvery: 2,
      evalBatches: 1,
      checkpointEvery: 2,
    });
    const volunteers: VolunteerClient[] = [];
    try {
      const app = buildApp([checkpointRoutes(committedCheckpoint(network.stores.runs, network.runId))]);
      expect((await app.request('/checkpoints/latest')).status).toBe(404);
      for (const name of ['alice', 'bob']) {
        const v = new VolunteerClient({ url: network.server.url, name, backend: new CpuBackend() });
        v.start();
        volunteers.push(v);
      }
      const started = Date.now();
      while (!network.coordinator.finished) {
        if (Date.now() - started > 120_000) throw new Error('timed out waiting for the run to finish');
        await new Promise((r) => setTimeout(r, 20));
      }
      const view = (await (await app.request('/checkpoints/latest')).json()) as CheckpointView;
      const final = (await network.stores.runs.metrics(network.runId, 'validationLoss')).at(-1)!;
      expect(final.round).toBe(4);
      expect(view).toMatchObject({ round: 4, name: 'step-000004', validation: { round: 4, loss: final.value } });
      const card = await (await app.request('/checkpoints/latest/README.md')).text();
      const tasks = (await network.stores.runs.tasks(network.runId)).filter((t) => t.kind !== 'serve');
      expect(card).toContain('# openshard-micro, round 4 of 4');
      expect(card).toContain('(the run is complete)');
      expect(card).toContain(`| validation loss | ${final.value.toFixed(4)} after round 4 |`);
      expect(card).toContain(`rounds 1–4 (${tasks.length} tasks, from the coordinator's task log) came from **2 distinct volunteer names**`);
      expect(card).toContain('The Brown corpus');
    } finally {
      for (const v of volunteers) await v.stop();
      await network.close();
    }
  }, 180_000);
});
