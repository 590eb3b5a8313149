import { sampleToken, type SamplingOptions, type Shard } from '@openshard/model';
import { BYTE_VOCAB_SIZE } from '@openshard/data';
import { Random } from '@openshard/tensor';

export interface GenerateOptions extends SamplingOptions {
  maxTokens: number;
  seed: number;
}

/** Continues `prompt` token by token, each from a full forward pass over the last contextLength tokens. */
export async function generate(shards: readonly Shard[], prompt: Uint8Array, o: GenerateOptions): Promise<Uint8Array> {
  if (prompt.length === 0) throw new RangeError('the prompt is empty; give at least one character');
  const config = shards[0].config;
  const rng = new Random(o.seed);
  const tokens = Array.from(prompt);
  for (let i = 0; i < o.maxTokens; i++) {
    const context = Int32Array.from(tokens.slice(-config.contextLength));
    const T = context.length;
    let x = shards[0].tokens(context, 1, T);
    for (const shard of shards) {
      const y = shard.forward(x);
      x.dispose();
      x = y;
    }
    const logits = await shards[0].backend.read(x);
    x.dispose();
    const V = config.vocabSize;
    // only byte tokens can be decoded: a larger vocabulary (the gpt2 preset's) is cut to the bytes
    const row = (T - 1) * V;
    tokens.push(sampleToken(logits.subarray(row, row + Math.min(V, BYTE_VOCAB_SIZE)), o, rng));
  }
  return Uint8Array.from(tokens.slice(prompt.length));
}
