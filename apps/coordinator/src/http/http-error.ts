import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/**
 * A refusal with its HTTP status; the app's error handler answers it as
 * `{ error: code, message }` (the shape the volunteer's sign-in and the web app read).
 */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Refuses, with 413 naming the limit, a request body above `maxBytes`, before it is parsed. */
export function limitBody(maxBytes: number) {
  return bodyLimit({
    maxSize: maxBytes,
    onError: (c) => {
      const declared = c.req.header('content-length');
      const size = declared ? `request body is ${declared} bytes,` : 'request body is';
      throw new HttpError(413, 'too-large', `${size} above the limit of ${maxBytes} bytes`);
    },
  });
}

/** The request body as JSON; 400 when it is not. Read it behind `limitBody`. */
export async function readJson(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    throw new HttpError(400, 'bad-json', 'request body is not JSON');
  }
}
