import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CpuBackend } from '@openshard/tensor';
import { VolunteerClient, type VolunteerEvent } from '@openshard/volunteer';
import { ServingHost, type ServingLink } from '@openshard/volunteer/serving';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { STEP_TIMEOUT_MS } from '../src/inference/serving-hub.ts';
import { DEFAULT_COORDINATOR, startCoordinator, type RunningCoordinator } from '../src/start-coordinator.ts';
import { greedyReference, trainedCheckpoint } from '../../../packages/trainer/test/support/served-checkpoint.ts';

let checkpoint: string;
const dirs: string[] = [];
let network: RunningCoordinator | null = null;
const volunteers: VolunteerClient[] = [];

beforeAll(async () => {
  checkpoint = await trainedCheckpoint();
  dirs.push(dirname(dirname(checkpoint)));
}, 60_000);
afterEach(async () => {
  for (const v of volunteers.splice(0)) await v.stop();
  await network?.close();
  network = null;
});
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** `verified`: newcomers' serving is checked by the coordinator (the default); without, the volunteers' own outputs make the text. */
async function start(verified = false): Promise<OpenAI> {
  const dataDir = mkdtempSync(join(tmpdir(), 'openshard-serving-'));
  dirs.push(dataDir);
  network = await startCoordinator({
    ...DEFAULT_COORDINATOR,
    preset: 'micro',
    shards: 2,
    batch: 1,
    microBatches: 2,
    rounds: 10_000,
    port: 0,
    dataDir,
    evalBatches: 1,
    evalEvery: 10_000,
    serveCheckpoint: checkpoint,
    ...(verified ? {} : { trust: null }),
  });
  return new OpenAI({ baseURL: `${network.server.url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
}

/** A Node volunteer that trains and serves on onnxruntime-web's wasm backend; `lie` scales every step output it sends. */
function volunteer(name: string, events: VolunteerEvent[] = [], lie = 1): VolunteerClient {
  const serving = (link: ServingLink) =>
    new ServingHost(['wasm'], lie === 1 ? link : { ...link, stepped: (m, out) => link.stepped(m, { ...out, data: (out.data as Float32Array).map((x) => x * lie) }) });
  const v = new VolunteerClient({ url: network!.server.url, name, backend: new CpuBackend(), serving, onEvent: (e) => events.push(e) });
  v.start();
  volunteers.push(v);
  return v;
}

const reference = (prompt: string, maxTokens: number) => greedyReference(checkpoint, prompt, maxTokens);

const servers = () => network!.serving.hub.roster.all();
const flopsOf = (name: string) => [...network!.coordinator.volunteers.values()].find((v) => v.name === name)?.flopsAccepted ?? 0;

describe('volunteers serve their shards (onnxruntime-web wasm in Node, 2 shards)', () => {
  test('behavior: a generation runs through the volunteers that hold the shards, equals `npm run generate`, and their serving work is credited', async () => {
    const client = await start();
    volunteer('a');
    volunteer('b');
    await expect
      .poll(
        () =>
          servers()
            .map((s) => s.shard)
            .sort(),
        { timeout: 30_000 },
      )
      .toEqual([0, 1]);
    const before = { a: flopsOf('a'), b: flopsOf('b') };
    const expected = await reference('It was ', 20);
    const r = await client.completions.create({ model: 'openshard-micro', prompt: 'It was ', max_tokens: 20, temperature: 0 });
    expect(r.choices[0].text).toBe(expected);
    // each served the 7 prompt positions, then 19 more one at a time (the 20th token is sampled from the last logits)
    expect(servers().map((s) => s.served)).toEqual([26, 26]);
    await expect.poll(() => flopsOf('a') > before.a && flopsOf('b') > before.b, { timeout: 20_000 }).toBe(true);
    expect(servers().every((s) => s.backend === 'wasm')).toBe(true);
  });

  test('behavior: a serving volunteer that leaves mid-generation is replaced and the prefix replayed: the text is the uninterrupted one', async () => {
    const client = await start();
    const leaving = volunteer('leaving');
    volunteer('staying');
    await expect.poll(() => servers().length, { timeout: 30_000 }).toBe(2);
    const expected = await reference('It was ', 24);
    let text = '';
    let stopped = false;
    const started = Date.now();
    for await (const c of await client.completions.create({ model: 'openshard-micro', prompt: 'It was ', max_tokens: 24, temperature: 0, stream: true })) {
      text += c.choices[0].text;
      if (!stopped && text.length >= 4) {
        stopped = true;
        await leaving.stop();
      }
    }
    expect(stopped).toBe(true);
    expect(text).toBe(expected);
    // uninterrupted, each server serves 7 + 23 positions; the replay sent the prefix through the one that stayed again
    await expect.poll(() => servers().find((s) => s.name === 'staying')?.served ?? 0).toBeGreaterThan(30);
    expect(Date.now() - started, 'the replay follows the disconnect, not the step timeout').toBeLessThan(STEP_TIMEOUT_MS);
  });

  test('error: a serving volunteer whose outputs are off by 1% is caught by the coordinator’s check and banned; the caller still gets the honest text', async () => {
    const client = await start(true);
    const events: VolunteerEvent[] = [];
    volunteer('liar', events, 1.01);
    volunteer('honest');
    await expect.poll(() => servers().length, { timeout: 30_000 }).toBe(2);
    const expected = await reference('It was ', 12);
    const r = await client.completions.create({ model: 'openshard-micro', prompt: 'It was ', max_tokens: 12, temperature: 0 });
    expect(r.choices[0].text).toBe(expected);
    await expect.poll(() => events.find((e) => e.type === 'refused' && e.code === 'banned'), { timeout: 20_000 }).toBeTruthy();
    expect(servers().map((s) => s.name)).toEqual(['honest']);
  });
});
