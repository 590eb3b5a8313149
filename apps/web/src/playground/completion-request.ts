import { parseEther } from 'viem';

/**
 * What the Playground sends to POST /v1/completions, read from the settings form. The limits are
 * the coordinator's (apps/coordinator/src/inference/openai-request.ts), checked here first so a
 * mistake is named before anything is quoted or paid.
 */

/** The body of POST /v1/completions (always streamed). */
export interface CompletionRequest {
  model: string;
  prompt: string;
  max_tokens: number;
  temperature: number;
  top_p: number;
  top_k: number;
  /** Absent: the coordinator draws one. */
  seed?: number;
  stop?: string[];
  stream: true;
}

/** The settings form as typed: strings, so a half-typed number is kept as it is. */
export interface SettingsForm {
  maxTokens: string;
  temperature: string;
  topP: string;
  topK: string;
  /** Empty: a random seed. */
  seed: string;
  /** One stop sequence per line; `\n` and `\t` stand for a newline and a tab. */
  stop: string;
  /** The most this browser pays for one request, in ETH. */
  maxEth: string;
}

export const DEFAULT_SETTINGS: SettingsForm = { maxTokens: '16', temperature: '0.8', topP: '0.95', topK: '0', seed: '', stop: '', maxEth: '0.01' };

export const MAX_TEMPERATURE = 2;
export const MAX_SEED = 2 ** 32 - 1;
/** OpenAI's limit on stop sequences, and on each one's length (characters). */
export const MAX_STOPS = 4;
export const MAX_STOP_CHARS = 64;

/** Tokens a request is priced for: the byte tokenizer makes each UTF-8 byte of the prompt one token, plus max_tokens. */
export function promptTokens(prompt: string): number {
  return new TextEncoder().encode(prompt).length;
}

export function parseStops(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.replace(/\\(n|t|\\)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : '\\')));
}

export type ReadRequest = { ok: true; request: CompletionRequest; tokens: number; maxWei: bigint } | { ok: false; problems: string[] };

/** The request for `prompt` on `model` (whose context is `contextLength` tokens), or every problem with the form. */
export function readRequest(model: string, contextLength: number, prompt: string, form: SettingsForm): ReadRequest {
  const problems: string[] = [];
  const number = (label: string, raw: string, ok: (v: number) => boolean, limit: string): number => {
    const v = Number(raw.trim());
    if (raw.trim() === '' || !Number.isFinite(v) || !ok(v)) problems.push(`${label} is '${raw}'; it must be ${limit}`);
    return v;
  };
  const maxTokens = number('Max tokens', form.maxTokens, (v) => Number.isInteger(v) && v >= 1, 'a whole number of at least 1');
  const temperature = number('Temperature', form.temperature, (v) => v >= 0 && v <= MAX_TEMPERATURE, `a number from 0 to ${MAX_TEMPERATURE}`);
  const topP = number('Top-p', form.topP, (v) => v > 0 && v <= 1, 'a number above 0 and at most 1');
  const topK = number('Top-k', form.topK, (v) => Number.isInteger(v) && v >= 0, 'a whole number, 0 for no limit');
  const seed = form.seed.trim() === '' ? undefined : number('Seed', form.seed, (v) => Number.isInteger(v) && v >= 0 && v <= MAX_SEED, `empty (random) or a whole number from 0 to ${MAX_SEED}`);
  const stop = parseStops(form.stop);
  if (stop.length > MAX_STOPS) problems.push(`there are ${stop.length} stop sequences; at most ${MAX_STOPS} are allowed`);
  const long = stop.find((s) => s.length > MAX_STOP_CHARS);
  if (long !== undefined) problems.push(`the stop sequence '${long.slice(0, 20)}…' has ${long.length} characters; at most ${MAX_STOP_CHARS} are allowed`);
  const eth = form.maxEth.trim();
  const maxWei = /^\d+(\.\d{1,18})?$/.test(eth) && parseEther(eth) > 0n ? parseEther(eth) : 0n;
  if (maxWei === 0n) problems.push(`Most you pay is '${form.maxEth}'; it must be an amount of ETH above 0, like 0.01`);
  if (prompt === '') problems.push('the prompt is empty: write the text the model should continue');
  const tokens = promptTokens(prompt) + maxTokens;
  if (prompt !== '' && Number.isInteger(maxTokens) && tokens > contextLength) {
    problems.push(`the prompt (${promptTokens(prompt)} bytes) plus max tokens (${maxTokens}) is ${tokens} tokens; this model reads at most ${contextLength}. Shorten the prompt or lower max tokens`);
  }
  if (problems.length > 0) return { ok: false, problems };
  const request: CompletionRequest = { model, prompt, max_tokens: maxTokens, temperature, top_p: topP, top_k: topK, stream: true };
  if (seed !== undefined) request.seed = seed;
  if (stop.length > 0) request.stop = stop;
  return { ok: true, request, tokens, maxWei };
}
