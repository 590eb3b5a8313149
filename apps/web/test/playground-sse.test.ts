import { describe, expect, test } from 'vitest';
import { completionEvent, SseDecoder, sseData, StreamError } from '../src/playground/sse.ts';

/** A fetch body that arrives in these pieces. */
function body(...pieces: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      for (const p of pieces) c.enqueue(typeof p === 'string' ? new TextEncoder().encode(p) : p);
      c.close();
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<string[]> {
  const out: string[] = [];
  for await (const d of sseData(stream)) out.push(d);
  return out;
}

const chunk = (text: string, finish: string | null = null) =>
  JSON.stringify({ id: 'cmpl-1', object: 'text_completion', created: 1, model: 'openshard-micro', choices: [{ index: 0, text, logprobs: null, finish_reason: finish }] });
const STREAM = `data: ${chunk('It')}\n\ndata: ${chunk(' was')}\n\ndata: ${chunk('', 'length')}\n\ndata: [DONE]\n\n`;

describe('SseDecoder', () => {
  test('behavior: the same events wherever the stream is cut into two pieces', () => {
    const whole = new SseDecoder().push(STREAM);
    expect(whole).toEqual([chunk('It'), chunk(' was'), chunk('', 'length'), '[DONE]']);
    for (let cut = 0; cut <= STREAM.length; cut++) {
      const d = new SseDecoder();
      expect([...d.push(STREAM.slice(0, cut)), ...d.push(STREAM.slice(cut)), ...d.end()]).toEqual(whole);
    }
  });

  test('behavior: lines end in \\n, \\r\\n or \\r, even a \\r\\n cut in two; data lines join with \\n; comments and other fields are skipped', () => {
    const d = new SseDecoder();
    expect(d.push(': keep-alive\r\nevent: message\r\nid: 7\r\ndata: a\r')).toEqual([]);
    expect(d.push('\ndata:b\r\rdata: c\n\n')).toEqual(['a\nb', 'c']);
    expect(d.push('data\n\n')).toEqual(['']);
  });

  test('behavior: an event cut off before its blank line is dropped; a lone \\r at the end still ends its line', () => {
    const d = new SseDecoder();
    expect(d.push('data: whole\n\ndata: cut')).toEqual(['whole']);
    expect(d.end()).toEqual([]);
    const r = new SseDecoder();
    expect(r.push('data: x\r\r')).toEqual([]);
    expect(r.end()).toEqual(['x']);
  });
});

describe('sseData', () => {
  test('behavior: reads a fetch body; a character split between two reads arrives whole', async () => {
    const bytes = new TextEncoder().encode(`data: ${chunk('é€')}\n\n`);
    const at = bytes.indexOf(0xe2) + 1; // inside the three bytes of €
    expect(await collect(body(bytes.slice(0, at), bytes.slice(at)))).toEqual([chunk('é€')]);
    expect(await collect(body(...STREAM.split('')))).toHaveLength(4);
  });
});

describe('completionEvent', () => {
  test('behavior: pieces of text, the finish reason, [DONE], a usage chunk, and an error in the stream', () => {
    expect(completionEvent(chunk(' was'))).toEqual({ kind: 'piece', text: ' was', finish: null });
    expect(completionEvent(chunk('', 'stop'))).toEqual({ kind: 'piece', text: '', finish: 'stop' });
    expect(completionEvent('[DONE]')).toEqual({ kind: 'done' });
    expect(completionEvent(JSON.stringify({ object: 'text_completion', choices: [], usage: { total_tokens: 3 } }))).toEqual({ kind: 'piece', text: '', finish: null });
    const error = { message: 'the generation failed: boom; your payment was not spent, send the same request again', type: 'server_error', param: null, code: 'generation_failed' };
    expect(completionEvent(JSON.stringify({ error }))).toEqual({ kind: 'error', error });
  });

  test('error: anything else is refused naming what came', () => {
    expect(() => completionEvent('<html>')).toThrow(StreamError);
    expect(() => completionEvent('<html>')).toThrow(/'<html>', which is neither JSON nor \[DONE\]/);
    expect(() => completionEvent('42')).toThrow(/not an object/);
    expect(() => completionEvent(JSON.stringify({ object: 'chat.completion.chunk', choices: [] }))).toThrow(/not a text_completion chunk/);
    expect(() => completionEvent(JSON.stringify({ object: 'text_completion', choices: [{ index: 0 }] }))).toThrow(/without text/);
  });
});
