import { rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MAX_API_BODY_BYTES } from '../src/http/openai-routes.ts';
import { DEFAULT_COORDINATOR, startCoordinator, type RunningCoordinator } from '../src/start-coordinator.ts';
import { greedyReference, trainedCheckpoint } from '../../../packages/trainer/test/support/served-checkpoint.ts';

let checkpoint: string;
let network: RunningCoordinator;
let client: OpenAI;
let dataDir: string;

beforeAll(async () => {
  checkpoint = await trainedCheckpoint();
  dataDir = mkdtempSync(join(tmpdir(), 'openshard-api-'));
  // no chain: requests are free; payments are tested in inference-payments.test.ts
  network = await startCoordinator({ ...DEFAULT_COORDINATOR, preset: 'micro', shards: 2, rounds: 1, port: 0, dataDir, evalBatches: 1 });
  await network.serving.models.offer(checkpoint);
  client = new OpenAI({ baseURL: `${network.server.url}/v1`, apiKey: 'not-needed', maxRetries: 0 });
}, 60_000);

afterAll(async () => {
  await network?.close();
  for (const d of [dataDir, checkpoint && dirname(dirname(checkpoint))]) if (d) rmSync(d, { recursive: true, force: true });
});

const reference = (prompt: string, maxTokens: number) => greedyReference(checkpoint, prompt, maxTokens);

describe('the OpenAI-compatible API, served shard by shard (onnxruntime, 2 shards)', () => {
  test('behavior: the openai client lists the model; a greedy completion equals `npm run generate` on the same checkpoint, plain and streamed', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['openshard-micro']);
    const prompt = 'It was the ';
    const expected = await reference(prompt, 20);
    const plain = await client.completions.create({ model: 'openshard-micro', prompt, max_tokens: 20, temperature: 0 });
    expect(plain.choices[0].text).toBe(expected);
    expect(plain.choices[0].finish_reason).toBe('length');
    expect(plain.usage).toEqual({ prompt_tokens: prompt.length, completion_tokens: 20, total_tokens: prompt.length + 20 });
    expect(expected).toMatch(/time/); // it has learnt something of the text

    const chunks: string[] = [];
    let finish: string | null = null;
    const stream = await client.completions.create({ model: 'openshard-micro', prompt, max_tokens: 20, temperature: 0, stream: true });
    for await (const c of stream) {
      chunks.push(c.choices[0].text);
      finish = c.choices[0].finish_reason ?? finish;
    }
    expect(chunks.join('')).toBe(expected);
    expect(chunks.filter((t) => t.length > 0).length).toBeGreaterThan(5);
    expect(finish).toBe('length');
  });

  test('behavior: the stream reaches the caller token by token, and a newer checkpoint served mid-stream does not cut it', async () => {
    const prompt = 'It was the ';
    const expected = await reference(prompt, 20);
    const newer = await trainedCheckpoint(5);
    try {
      const res = await fetch(`${network.server.url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'openshard-micro', prompt, max_tokens: 20, temperature: 0, stream: true }),
      });
      const reader = res.body!.getReader();
      let body = '';
      let reads = 0;
      let swapped: Promise<void> | null = null;
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        reads++;
        body += new TextDecoder().decode(r.value);
        // the next checkpoint is served while this generation is under way: it finishes on the one it started on
        swapped ??= network.serving.models.offer(newer);
      }
      await swapped;
      expect(network.serving.models.current!.checkpoint).toBe(newer);
      // the replaced model was released when its stream ended
      await expect.poll(() => network.serving.models.loaded).toBe(1);
      const events = body.split('\n\n').filter((e) => e.startsWith('data: '));
      expect(events.at(-1)).toBe('data: [DONE]');
      const text = events
        .slice(0, -1)
        .map((e) => (JSON.parse(e.slice(6)) as { choices: { text: string }[] }).choices[0].text)
        .join('');
      expect(text).toBe(expected);
      expect(reads, 'each token is written out as it is generated, not all at the end').toBeGreaterThan(5);
    } finally {
      await network.serving.models.offer(checkpoint);
      rmSync(dirname(dirname(newer)), { recursive: true, force: true });
    }
  });

  test('behavior: a stop sequence ends the text before it; the same seed samples the same text; chat answers in the plain template, plain and streamed', async () => {
    const prompt = 'of times, it was ';
    const full = await reference(prompt, 12);
    const cut = full.indexOf(' ');
    expect(cut).toBeGreaterThan(0);
    const stopped = await client.completions.create({ model: 'openshard-micro', prompt, max_tokens: 12, temperature: 0, stop: [' '] });
    expect(stopped.choices[0]).toMatchObject({ text: full.slice(0, cut), finish_reason: 'stop' });
    expect(stopped.usage!.completion_tokens).toBe(cut + 1);

    const sample = (seed: number) => client.completions.create({ model: 'openshard-micro', prompt: 'It', max_tokens: 16, temperature: 1.2, top_p: 0.95, seed });
    expect((await sample(7)).choices[0].text).toBe((await sample(7)).choices[0].text);

    const messages = [{ role: 'user' as const, content: 'was' }];
    const chat = await client.chat.completions.create({ model: 'openshard-micro', messages, max_tokens: 8, temperature: 0 });
    const expectedChat = await reference('User: was\nAssistant:', 8);
    const shown = expectedChat.includes('\nUser:') ? expectedChat.slice(0, expectedChat.indexOf('\nUser:')) : expectedChat;
    expect(chat.choices[0].message).toMatchObject({ role: 'assistant', content: shown });
    let streamed = '';
    for await (const c of await client.chat.completions.create({ model: 'openshard-micro', messages, max_tokens: 8, temperature: 0, stream: true })) streamed += c.choices[0]?.delta?.content ?? '';
    expect(streamed).toBe(shown);
  });

  test('error: an unknown model, a prompt past the context, n = 2, a bad top_p and a body that is not JSON are refused in the OpenAI error shape, naming the value', async () => {
    await expect(client.completions.create({ model: 'gpt-4', prompt: 'x', max_tokens: 1 })).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
    const tooLong = client.completions.create({ model: 'openshard-micro', prompt: 'x'.repeat(30), max_tokens: 10 });
    await expect(tooLong).rejects.toMatchObject({ status: 400, code: 'context_length_exceeded', param: 'max_tokens' });
    await expect(tooLong).rejects.toThrow(/context is 32 tokens; the prompt has 30 and max_tokens asks 10 more \(40\)/);
    await expect(client.completions.create({ model: 'openshard-micro', prompt: 'x', n: 2 })).rejects.toMatchObject({ status: 400, param: 'n' });
    await expect(client.completions.create({ model: 'openshard-micro', prompt: 'x', top_p: 1.5 })).rejects.toMatchObject({ status: 400, param: 'top_p' });
    const raw = await fetch(`${network.server.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toEqual({ error: { message: 'request body is not JSON', type: 'invalid_request_error', param: null, code: 'bad-json' } });
    // what never reaches the API's routes is answered in its shape too
    const unknown = await fetch(`${network.server.url}/v1/embeddings`, { method: 'POST', body: '{}' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: { message: 'no route POST /v1/embeddings', type: 'invalid_request_error', param: null, code: 'not-found' } });
    const huge = await fetch(`${network.server.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(MAX_API_BODY_BYTES + 1) });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ error: { code: 'too-large', message: `request body is ${MAX_API_BODY_BYTES + 1} bytes, above the limit of ${MAX_API_BODY_BYTES} bytes` } });
  });
});
