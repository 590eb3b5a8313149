import type { CompletionJob } from './openai-request.ts';
import type { FinishReason } from './generation.ts';

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function usage(j: CompletionJob, completionTokens: number): Usage {
  return { prompt_tokens: j.prompt.length, completion_tokens: completionTokens, total_tokens: j.prompt.length + completionTokens };
}

/** What every response and chunk of one request shares. */
export interface ResponseHead {
  id: string;
  created: number;
  model: string;
}

export function responseHead(j: CompletionJob, model: string): ResponseHead {
  const id = `${j.kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${crypto.randomUUID().replaceAll('-', '')}`;
  return { id, created: Math.floor(Date.now() / 1000), model };
}

/** The whole answer, as `POST /v1/completions` or `/v1/chat/completions` returns it without streaming. */
export function completionBody(j: CompletionJob, h: ResponseHead, text: string, finish: FinishReason, u: Usage) {
  if (j.kind === 'text') return { ...h, object: 'text_completion', choices: [{ index: 0, text, logprobs: null, finish_reason: finish }], usage: u };
  return { ...h, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: finish }], usage: u };
}

/** One streamed piece: text (or the chat's role first), then a last chunk with the finish reason. */
export function completionChunk(j: CompletionJob, h: ResponseHead, piece: { text?: string; role?: boolean; finish?: FinishReason }) {
  const finish_reason = piece.finish ?? null;
  if (j.kind === 'text') return { ...h, object: 'text_completion', choices: [{ index: 0, text: piece.text ?? '', logprobs: null, finish_reason }] };
  const delta = piece.role ? { role: 'assistant', content: '' } : piece.text !== undefined ? { content: piece.text } : {};
  return { ...h, object: 'chat.completion.chunk', choices: [{ index: 0, delta, logprobs: null, finish_reason }] };
}

/** The chunk `stream_options.include_usage` asks for: no choices, the usage. */
export function usageChunk(j: CompletionJob, h: ResponseHead, u: Usage) {
  return { ...h, object: j.kind === 'text' ? 'text_completion' : 'chat.completion.chunk', choices: [], usage: u };
}
