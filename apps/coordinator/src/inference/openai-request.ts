import { encode } from '@openshard/data';
import type { SamplingOptions } from '@openshard/model';
import { z } from 'zod';
import { CHAT_STOPS, chatPrompt } from './chat-template.ts';

/** The longest prompt accepted, in characters (the model's context is far shorter still). */
export const MAX_PROMPT_CHARS = 64 * 1024;
/** OpenAI's limit on stop sequences. */
export const MAX_STOPS = 4;
export const DEFAULT_MAX_TOKENS = 16;

const stop = z.union([z.string().min(1).max(64), z.array(z.string().min(1).max(64)).max(MAX_STOPS)]).nullish();

const sampling = {
  model: z.string().min(1).max(256),
  max_tokens: z.number().int().min(1).nullish(),
  max_completion_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  /** Not OpenAI's; as in most OpenAI-compatible servers. */
  top_k: z.number().int().min(0).nullish(),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1)
    .nullish(),
  stop,
  n: z.literal(1, { message: 'n must be 1: one completion per request' }).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  user: z.string().max(256).nullish(),
};

const completionBody = z.object({
  ...sampling,
  prompt: z.union([z.string().min(1).max(MAX_PROMPT_CHARS), z.array(z.string().min(1).max(MAX_PROMPT_CHARS)).length(1, 'prompt as a list must hold exactly one string')]),
  echo: z.literal(false, { message: 'echo is not supported' }).nullish(),
  logprobs: z.null({ message: 'logprobs are not supported' }).nullish(),
  best_of: z.literal(1, { message: 'best_of must be 1' }).nullish(),
  suffix: z.null({ message: 'suffix is not supported' }).nullish(),
});

const chatBody = z.object({
  ...sampling,
  messages: z
    .array(z.object({ role: z.enum(['system', 'developer', 'user', 'assistant']), content: z.string().max(MAX_PROMPT_CHARS) }))
    .min(1)
    .max(256),
  logprobs: z.literal(false, { message: 'logprobs are not supported' }).nullish(),
  tools: z.undefined({ message: 'tools are not supported' }).nullish(),
});

/** A request for text, whichever endpoint it came through. */
export interface CompletionJob {
  kind: 'text' | 'chat';
  model: string;
  prompt: Uint8Array;
  maxTokens: number;
  sampling: SamplingOptions;
  /** Drawn at random when the caller gives none. */
  seed: number;
  stops: string[];
  stream: boolean;
  includeUsage: boolean;
}

/** A request the API refuses before any work: 400 naming the field. */
export class InvalidRequest extends Error {
  override name = 'InvalidRequest';
  constructor(
    message: string,
    readonly param: string | null,
    readonly code: string = 'invalid_value',
  ) {
    super(message);
  }
}

export function parseCompletion(body: unknown): CompletionJob {
  const b = check(completionBody, body);
  const prompt = typeof b.prompt === 'string' ? b.prompt : b.prompt[0];
  return job('text', b, prompt, toList(b.stop));
}

export function parseChat(body: unknown): CompletionJob {
  const b = check(chatBody, body);
  return job('chat', b, chatPrompt(b.messages), [...CHAT_STOPS, ...toList(b.stop)]);
}

type SamplingFields = z.infer<z.ZodObject<typeof sampling>>;

function job(kind: CompletionJob['kind'], b: SamplingFields, prompt: string, stops: string[]): CompletionJob {
  return {
    kind,
    model: b.model,
    prompt: encode(prompt),
    maxTokens: b.max_completion_tokens ?? b.max_tokens ?? DEFAULT_MAX_TOKENS,
    sampling: { temperature: b.temperature ?? 1, topK: b.top_k ?? 0, topP: b.top_p ?? 1 },
    seed: b.seed ?? Math.floor(Math.random() * 2 ** 32),
    stops,
    stream: b.stream ?? false,
    includeUsage: b.stream_options?.include_usage ?? false,
  };
}

function toList(s: string | string[] | null | undefined): string[] {
  return s == null ? [] : typeof s === 'string' ? [s] : s;
}

function check<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidRequest('the request body must be a JSON object', null, 'invalid_request');
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const param = issue.path.join('.') || null;
  throw new InvalidRequest(`${param ?? 'body'}: ${issue.message}`, param);
}

/** Refuses a job that would run past the model's context (the KV cache holds contextLength positions). */
export function checkContext(j: CompletionJob, contextLength: number): void {
  const total = j.prompt.length + j.maxTokens;
  if (total > contextLength) {
    throw new InvalidRequest(
      `this model's context is ${contextLength} tokens; the prompt has ${j.prompt.length} and max_tokens asks ${j.maxTokens} more (${total}). Shorten the prompt or lower max_tokens`,
      'max_tokens',
      'context_length_exceeded',
    );
  }
}
