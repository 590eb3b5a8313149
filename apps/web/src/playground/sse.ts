import { apiError, type ApiError } from './quote.ts';

/**
 * Server-Sent Events from a fetch body (EventSource cannot POST): the `data` of each event, as
 * the HTML standard parses them. Lines end in \n, \r\n or \r; `data:` lines of one event are
 * joined by \n; a blank line ends the event; comments (`:`) and other fields are skipped; an event
 * the stream cut off before its blank line is dropped.
 */
export class SseDecoder {
  private buffer = '';
  private data: string[] = [];

  /** Feeds decoded text; returns the data of each event it completed. */
  push(text: string): string[] {
    this.buffer += text;
    const events: string[] = [];
    for (;;) {
      const end = this.buffer.search(/[\r\n]/);
      if (end < 0) break;
      // a \r at the end may be the first half of \r\n: wait for the next piece
      if (this.buffer[end] === '\r' && end === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(this.buffer.startsWith('\r\n', end) ? end + 2 : end + 1);
      const event = this.line(line);
      if (event !== null) events.push(event);
    }
    return events;
  }

  /** The stream ended: a lone \r waiting for its \n ends a line. */
  end(): string[] {
    if (!this.buffer.endsWith('\r')) return [];
    const event = this.line(this.buffer.slice(0, -1));
    this.buffer = '';
    return event === null ? [] : [event];
  }

  private line(line: string): string | null {
    if (line === '') {
      if (this.data.length === 0) return null;
      const event = this.data.join('\n');
      this.data = [];
      return event;
    }
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(line[colon + 1] === ' ' ? colon + 2 : colon + 1);
    if (field === 'data') this.data.push(value);
    return null;
  }
}

/** The data of each event in `body`, as it arrives; UTF-8 split across reads is joined. */
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  const utf8 = new TextDecoder();
  const decoder = new SseDecoder();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      yield* decoder.push(utf8.decode(value, { stream: true }));
    }
    yield* decoder.push(utf8.decode());
    yield* decoder.end();
  } finally {
    // a reader that stops early (the page moved on) closes the connection; after the end this does nothing
    await reader.cancel().catch(() => {});
  }
}

/** One event of a streamed completion. */
export type CompletionEvent =
  /** `text` continues the completion (may be empty); `finish` is set on the last chunk. */
  | { kind: 'piece'; text: string; finish: string | null }
  /** A failure after the stream began; a paid request stays paid and can be sent again. */
  | { kind: 'error'; error: ApiError }
  | { kind: 'done' };

export class StreamError extends Error {
  override name = 'StreamError';
}

/** Reads one event's data: a `text_completion` chunk, an error, or `[DONE]`; throws StreamError naming what else came. */
export function completionEvent(data: string): CompletionEvent {
  if (data === '[DONE]') return { kind: 'done' };
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    throw new StreamError(`the stream sent '${data.slice(0, 80)}', which is neither JSON nor [DONE]`);
  }
  if (typeof json !== 'object' || json === null) throw new StreamError(`the stream sent ${data.slice(0, 80)}, not an object`);
  if ('error' in json) return { kind: 'error', error: apiError(200, json) };
  const chunk = json as { object?: unknown; choices?: unknown };
  if (chunk.object !== 'text_completion' || !Array.isArray(chunk.choices)) throw new StreamError(`the stream sent ${data.slice(0, 80)}, not a text_completion chunk`);
  // a usage chunk (stream_options.include_usage) has no choices
  if (chunk.choices.length === 0) return { kind: 'piece', text: '', finish: null };
  const { text, finish_reason } = chunk.choices[0] as { text?: unknown; finish_reason?: unknown };
  if (typeof text !== 'string') throw new StreamError(`the stream sent a chunk without text: ${data.slice(0, 80)}`);
  return { kind: 'piece', text, finish: typeof finish_reason === 'string' ? finish_reason : null };
}
