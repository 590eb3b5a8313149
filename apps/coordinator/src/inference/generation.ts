import { BYTE_VOCAB_SIZE } from '@openshard/data';
import { sampleToken, type SamplingOptions } from '@openshard/model';
import { Random } from '@openshard/tensor';
import type { Pipeline } from './pipeline.ts';
import { TextStream } from './text-stream.ts';

export interface GenerationSpec {
  prompt: Uint8Array;
  maxTokens: number;
  sampling: SamplingOptions;
  seed: number;
  /** Text at which the generation stops; it is not part of the result. */
  stops: readonly string[];
}

/** As OpenAI says it: a stop sequence was met ('stop'), or max_tokens was ('length'). */
export type FinishReason = 'stop' | 'length';

export interface GeneratedToken {
  token: number;
  /** Text this token completes (may be empty while a character or a possible stop sequence is held back). */
  text: string;
}

export interface GenerationResult {
  finishReason: FinishReason;
  /** Tokens sampled (a stop sequence's tokens included). */
  completionTokens: number;
}

/**
 * Continues the prompt token by token through the pipeline: the prompt goes in once, then each
 * sampled token alone (the stages keep the KV cache). Only byte tokens can be decoded, so a larger
 * vocabulary is cut to the bytes, as `npm run generate` does.
 */
export async function* generate(pipeline: Pipeline, generation: string, spec: GenerationSpec): AsyncGenerator<GeneratedToken, GenerationResult> {
  const rng = new Random(spec.seed);
  const text = new TextStream(spec.stops);
  const V = Math.min(pipeline.vocabSize, BYTE_VOCAB_SIZE);
  let input = Int32Array.from(spec.prompt);
  let ok = false;
  try {
    for (let n = 1; n <= spec.maxTokens; n++) {
      const logits = await pipeline.next(generation, input);
      // onnxruntime's wasm backend can answer without ever yielding: let sockets and timers run between tokens
      await new Promise((resolve) => setTimeout(resolve, 0));
      const token = sampleToken(logits.subarray(0, V), spec.sampling, rng);
      const last = n === spec.maxTokens;
      const shown = text.push(token);
      yield { token, text: text.done || !last ? shown : shown + text.end() };
      if (text.done) {
        ok = true;
        return { finishReason: 'stop', completionTokens: n };
      }
      input = Int32Array.of(token);
    }
    ok = true;
    return { finishReason: 'length', completionTokens: spec.maxTokens };
  } finally {
    pipeline.end(generation, ok);
  }
}
