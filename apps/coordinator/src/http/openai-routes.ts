import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { generate, type GenerationResult } from '../inference/generation.ts';
import { checkContext, InvalidRequest, parseChat, parseCompletion, type CompletionJob } from '../inference/openai-request.ts';
import { completionBody, completionChunk, responseHead, usage, usageChunk, type ResponseHead } from '../inference/openai-response.ts';
import type { ModelServer, ServedModel } from '../inference/served-model.ts';
import type { ServingStats } from '../inference/serving-stats.ts';
import { PAYMENT_HEADER, PaymentRefusal, type Admission, type PaymentGate } from '../payments/payment-gate.ts';
import { paymentRequiredBody } from '../payments/x402.ts';
import { HttpError, limitBody, readJson } from './http-error.ts';

/** The largest request body the API reads (bytes). */
export const MAX_API_BODY_BYTES = 256 * 1024;

export interface OpenAiRoutesOptions {
  models: ModelServer;
  gate: PaymentGate;
  stats: ServingStats;
}

/**
 * The OpenAI-compatible API (docs/inference.md):
 *   GET  /v1/models, /v1/models/:id
 *   POST /v1/completions, /v1/chat/completions   (stream: true → Server-Sent Events ending in `data: [DONE]`)
 * Errors are OpenAI's `{ error: { message, type, param, code } }`; an unpaid request is 402 with an x402-shaped quote.
 */
export function openAiRoutes(o: OpenAiRoutesOptions) {
  const app = new Hono();
  app.onError((e, c) => refuse(c, e, o.gate));
  app.use('/v1/*', limitBody(MAX_API_BODY_BYTES), async (c, next) => {
    await next();
    c.header('cache-control', 'no-store');
  });
  app.get('/v1/models', (c) => c.json({ object: 'list', data: o.models.current ? [modelEntry(o.models.current)] : [] }));
  app.get('/v1/models/:id', (c) => c.json(modelEntry(servedModel(o.models, c.req.param('id')))));
  app.post('/v1/completions', (c) => complete(c, parseCompletion, o));
  app.post('/v1/chat/completions', (c) => complete(c, parseChat, o));
  return app;
}

function modelEntry(m: ServedModel) {
  return { id: m.id, object: 'model', created: m.created, owned_by: 'openshard', context_length: m.config.contextLength };
}

function servedModel(models: ModelServer, id: string): ServedModel {
  const m = models.current;
  if (!m) throw new HttpError(503, 'model_not_ready', 'no checkpoint has been committed yet, so no model is served; the first is written after --checkpoint-every rounds');
  if (id !== m.id) throw new HttpError(404, 'model_not_found', `the model '${id.slice(0, 100)}' does not exist; this network serves '${m.id}'`);
  return m;
}

/**
 * Generations under way at once, at most: below the KV caches a stage keeps (MAX_GENERATIONS_PER_STAGE),
 * so no generation's cache is ever forgotten while it runs.
 */
export const MAX_CONCURRENT_GENERATIONS = 32;

/** The refusal code of a paid request whose payment could not be checked on chain (counted as a chain error in /metrics). */
export const CHAIN_UNAVAILABLE = 'chain_unavailable';

async function complete(c: Context, parse: (body: unknown) => CompletionJob, o: OpenAiRoutesOptions): Promise<Response> {
  const job = parse(await readJson(c));
  const model = servedModel(o.models, job.model);
  checkContext(job, model.config.contextLength);
  // before the payment is looked at: a busy answer spends nothing
  if (o.stats.running >= MAX_CONCURRENT_GENERATIONS)
    throw new HttpError(503, 'busy', `${o.stats.running} generations are under way, the most this coordinator runs at once; send the request again in a moment`);
  // the slot is taken before the payment is awaited, so requests checked together cannot overshoot the limit
  o.stats.running++;
  let admission: Admission;
  try {
    admission = await admitting(o.gate, model.id, job.prompt.length + job.maxTokens, c.req.header(PAYMENT_HEADER));
  } catch (e) {
    o.stats.running--;
    throw e;
  }
  let held: ReturnType<ModelServer['acquire']>;
  try {
    if (admission.requestId) c.header(PAYMENT_HEADER, admission.requestId);
    // the model stays loaded until the text is out: a newer checkpoint swapped in meanwhile waits to release it
    held = o.models.acquire();
  } catch (e) {
    o.stats.running--;
    await admission.failed();
    throw e;
  }
  const finish = async () => {
    o.stats.running--;
    await held.release();
  };
  const head = responseHead(job, model.id);
  if (!job.stream) return whole(c, held.model, job, head, admission, o.stats).finally(finish);
  return stream(c, held.model, job, head, admission, o.stats, finish);
}

/** The payment gate, with the chain's failures as 503 (the request was not served, nothing was spent). */
async function admitting(gate: PaymentGate, model: string, tokens: number, header: string | undefined): Promise<Admission> {
  try {
    return await gate.admit(model, tokens, header);
  } catch (e) {
    if (e instanceof PaymentRefusal) throw e;
    throw new HttpError(503, CHAIN_UNAVAILABLE, `the payment could not be checked on chain (${(e as Error).message.split('\n')[0]}); nothing was spent, send the request again`);
  }
}

async function whole(c: Context, m: ServedModel, job: CompletionJob, head: ResponseHead, admission: Admission, stats: ServingStats): Promise<Response> {
  const started = Date.now();
  let text = '';
  let ttft = 0;
  let result: GenerationResult;
  try {
    const run = generate(m.pipeline, head.id, job);
    for (let next = await run.next(); ; next = await run.next()) {
      if (next.done) {
        result = next.value;
        break;
      }
      ttft ||= Date.now() - started;
      text += next.value.text;
    }
  } catch (e) {
    await failed(admission, stats, e);
    throw new HttpError(503, 'generation_failed', `the generation failed: ${(e as Error).message}; your payment was not spent, send the same request again`);
  }
  // a caller gone before the answer could be sent keeps its payment for a retry
  if (c.req.raw.signal.aborted) {
    await admission.failed();
    throw new HttpError(503, 'generation_failed', 'the connection closed before the answer was sent; your payment was not spent, send the same request again');
  }
  await admission.served(result.completionTokens);
  stats.served(result.completionTokens, Date.now() - started, ttft);
  return c.json(completionBody(job, head, text, result.finishReason, usage(job, result.completionTokens)));
}

function stream(c: Context, m: ServedModel, job: CompletionJob, head: ResponseHead, admission: Admission, stats: ServingStats, done: () => Promise<void>): Response {
  return streamSSE(c, async (sse) => {
    const send = (data: unknown) => sse.writeSSE({ data: JSON.stringify(data) });
    const started = Date.now();
    let ttft = 0;
    try {
      if (job.kind === 'chat') await send(completionChunk(job, head, { role: true }));
      const run = generate(m.pipeline, head.id, job);
      let next = await run.next();
      for (; !next.done; next = await run.next()) {
        ttft ||= Date.now() - started;
        if (next.value.text) await send(completionChunk(job, head, { text: next.value.text }));
      }
      const result = next.value;
      await admission.served(result.completionTokens);
      stats.served(result.completionTokens, Date.now() - started, ttft);
      await send(completionChunk(job, head, { finish: result.finishReason }));
      if (job.includeUsage) await send(usageChunk(job, head, usage(job, result.completionTokens)));
      await sse.writeSSE({ data: '[DONE]' });
    } catch (e) {
      await failed(admission, stats, e);
      await send({
        error: { message: `the generation failed: ${(e as Error).message}; your payment was not spent, send the same request again`, type: 'server_error', param: null, code: 'generation_failed' },
      });
    } finally {
      await done();
    }
  });
}

async function failed(admission: Admission, stats: ServingStats, e: unknown): Promise<void> {
  stats.failed++;
  console.error('coordinator inference:', e);
  await admission.failed();
}

function refuse(c: Context, e: Error, gate: PaymentGate): Response {
  c.header('cache-control', 'no-store');
  if (e instanceof PaymentRefusal) {
    const body = paymentRequiredBody(e, gate, c.req.path);
    if (e.status === 402) c.header('payment-required', btoa(JSON.stringify(body)));
    return c.json(body, e.status);
  }
  const { status, type, code, param } = describe(e);
  return c.json({ error: { message: e.message, type, param, code } }, status);
}

function describe(e: Error): { status: ContentfulStatusCode; type: string; code: string; param: string | null } {
  if (e instanceof InvalidRequest) return { status: 400, type: 'invalid_request_error', code: e.code, param: e.param };
  if (e instanceof HttpError) return { status: e.status, type: e.status < 500 ? 'invalid_request_error' : 'server_error', code: e.code, param: null };
  console.error('coordinator inference:', e);
  return { status: 500, type: 'server_error', code: 'internal', param: null };
}
