import { Hono, type Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { HttpError, limitBody } from './http-error.ts';

/**
 * The largest request body any route reads (bytes): a backstop for routes without a limit of their
 * own. Routes set lower limits beside them (MAX_SIWE_BODY_BYTES); one that needs more raises this.
 */
export const MAX_REQUEST_BODY_BYTES = 1024 * 1024;

/** One part of the HTTP surface (health, ownership, the inference API, /metrics; later static files). */
export type RouteModule = Hono;

export interface AppEvents {
  /** A request was refused: its error code and status (for /metrics). */
  refused?(code: string, status: number): void;
}

/**
 * The coordinator's HTTP surface: each route module mounted at the root, one body limit, and one
 * place where errors become responses: `{ error: code, message }` with the error's status.
 * Socket.IO answers `/socket.io/` on the same server before this app sees a request.
 */
export function buildApp(modules: readonly RouteModule[], events: AppEvents = {}): Hono {
  const app = new Hono();
  // every refusal, those a module answers in its own shape too (the OpenAI API): Hono keeps the error it handled in c.error
  app.use('*', async (c, next) => {
    await next();
    if (c.error && c.res.status >= 400) events.refused?.(codeOf(c.error), c.res.status);
  });
  app.use('*', limitBody(MAX_REQUEST_BODY_BYTES));
  for (const m of modules) app.route('/', m);
  app.notFound((c) => {
    events.refused?.('not-found', 404);
    return refuse(c, new HttpError(404, 'not-found', `no route ${c.req.method} ${c.req.path}`));
  });
  app.onError((e, c) => refuse(c, asHttpError(e)));
  return app;
}

/** An error's code: ours, the API's refusals (and a system error's errno code) carry one; anything else is answered 500 'internal'. */
function codeOf(e: Error): string {
  if (e instanceof HTTPException) return 'http';
  return 'code' in e && typeof e.code === 'string' ? e.code : 'internal';
}

function asHttpError(e: Error): HttpError {
  if (e instanceof HttpError) return e;
  if (e instanceof HTTPException) return new HttpError(e.status as HttpError['status'], 'http', e.message || `HTTP ${e.status}`);
  console.error('coordinator http:', e);
  return new HttpError(500, 'internal', e.message);
}

function refuse(c: Context, e: HttpError): Response {
  c.header('cache-control', 'no-store');
  // the OpenAI-compatible API answers in OpenAI's error shape, also for what never reached its routes (404, 413)
  if (c.req.path.startsWith('/v1/')) return c.json({ error: { message: e.message, type: e.status < 500 ? 'invalid_request_error' : 'server_error', param: null, code: e.code } }, e.status);
  return c.json({ error: e.code, message: e.message }, e.status);
}
