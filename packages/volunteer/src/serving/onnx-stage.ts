import type { GptConfig, ShardSpec } from '@openshard/model';
import { ATTENTION_MASK, causalMask, HIDDEN_STATES, INPUT_IDS, POSITION_IDS, shardGraphIo } from '@openshard/model/onnx';
import * as ort from 'onnxruntime-web';
import type { ServingStage, StageInput } from './stage.ts';

/** onnxruntime-web's execution providers we serve with: WebGPU where the browser has it, else wasm. */
export type ServingBackend = 'webgpu' | 'wasm';

/** Generations one stage keeps a KV cache for at once; the least recently used is forgotten beyond it. */
export const MAX_GENERATIONS_PER_STAGE = 64;

/**
 * New positions of each warm-up step. onnxruntime-web compiles a WebGPU kernel per variant: MatMul
 * per (new positions ≤ 8 or not) × (total positions divisible by 4 or not), Softmax per vector
 * width of the total (1, 2 or 4). These steps, at totals 2, 3, 4, 8, 20 and 29, meet every one.
 */
const WARM_UP_STEPS = [2, 1, 1, 4, 12, 9];
/** The warm-up's generation id: no step message can name it (the wire's ids have at least one character). */
const WARM_UP = '';

interface Cache {
  /** Positions already in the cache. */
  length: number;
  past: Map<string, ort.Tensor>;
  usedAt: number;
}

/**
 * One shard of a served checkpoint in onnxruntime-web: its ONNX graph (`shardGraph`) in an
 * InferenceSession, and a KV cache per generation, so each step carries only the new positions.
 */
export class OnnxStage implements ServingStage {
  private readonly caches = new Map<string, Cache>();
  private readonly io;
  private clock = 0;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly config: GptConfig,
    readonly spec: ShardSpec,
    /** The execution provider the session got. */
    readonly backend: ServingBackend,
  ) {
    this.io = shardGraphIo(config, spec);
  }

  /** Loads the graph with the first of `backends` that works (WebGPU fails where the browser has none). */
  static async load(graph: Uint8Array, config: GptConfig, spec: ShardSpec, backends: readonly ServingBackend[]): Promise<OnnxStage> {
    const failures: string[] = [];
    for (const backend of backends) {
      let session: ort.InferenceSession | null = null;
      try {
        session = await ort.InferenceSession.create(graph, { executionProviders: [backend], graphOptimizationLevel: 'all' });
        const stage = new OnnxStage(session, config, spec, backend);
        await stage.warmUp();
        return stage;
      } catch (e) {
        await session?.release().catch(() => {});
        failures.push(`${backend}: ${(e as Error).message}`);
      }
    }
    throw new Error(`onnxruntime-web could not load shard ${spec.index}'s graph (${failures.join('; ')})`);
  }

  /**
   * Runs a throwaway generation (WARM_UP_STEPS) so that no real step pays for compiling the
   * provider's kernels. On WebGPU (SwiftShader, micro, in a tab that also trains) the first prompt
   * took 20 s, past the coordinator's step timeout (10 s), which then dropped the server for good;
   * a kernel variant not seen yet costs 2–5 s. Warmed up, steps of any length and past take
   * 0.02–0.3 s there. A provider that cannot run the graph fails here, at load, and the next one is tried.
   */
  private async warmUp(): Promise<void> {
    const C = this.config.width;
    try {
      for (const T of WARM_UP_STEPS) {
        if (this.positions(WARM_UP) + T > this.config.contextLength) break;
        const past = this.positions(WARM_UP);
        await this.step(WARM_UP, this.spec.index === 0 ? { kind: 'tokens', tokens: new Int32Array(T), past } : { kind: 'hidden', hidden: new Float32Array(T * C), T, past });
      }
    } finally {
      this.end(WARM_UP);
    }
  }

  /** Positions generation `id` holds in its cache (0 when unknown). */
  positions(id: string): number {
    return this.caches.get(id)?.length ?? 0;
  }

  /** Runs T new positions of generation `id`; returns hidden states [T, C], or logits [T, V] on the last shard. */
  async step(id: string, input: StageInput): Promise<Float32Array> {
    const cache = this.cacheOf(id);
    const T = input.kind === 'tokens' ? input.tokens.length : input.T;
    if (T < 1) throw new RangeError('a serving step needs at least one new position');
    if (input.past !== cache.length) throw new RangeError(`generation ${id} holds ${cache.length} positions here, but the step follows ${input.past} (its cache was forgotten, or steps were lost)`);
    if (cache.length + T > this.config.contextLength) {
      throw new RangeError(`generation ${id} would hold ${cache.length + T} positions; the model's context is ${this.config.contextLength}`);
    }
    const feeds = this.feeds(cache, input, T);
    const results = await this.session.run(feeds);
    for (const t of cache.past.values()) t.dispose();
    for (const { name } of this.io.outputs.slice(1)) cache.past.set(pastNameOf(name), results[name]);
    cache.length += T;
    cache.usedAt = ++this.clock;
    const out = results[this.io.outputs[0].name];
    return (await out.getData()) as Float32Array;
  }

  end(id: string): void {
    const cache = this.caches.get(id);
    if (!cache) return;
    for (const t of cache.past.values()) t.dispose();
    this.caches.delete(id);
  }

  async release(): Promise<void> {
    for (const id of [...this.caches.keys()]) this.end(id);
    await this.session.release();
  }

  private feeds(cache: Cache, input: StageInput, T: number): Record<string, ort.Tensor> {
    const C = this.config.width;
    const feeds: Record<string, ort.Tensor> = { [ATTENTION_MASK]: new ort.Tensor('float32', causalMask(cache.length, T), [T, cache.length + T]) };
    if (input.kind === 'tokens') {
      if (this.spec.index !== 0) throw new RangeError(`shard ${this.spec.index} takes hidden states, not token ids`);
      feeds[INPUT_IDS] = new ort.Tensor('int64', BigInt64Array.from(input.tokens, BigInt), [1, T]);
      feeds[POSITION_IDS] = new ort.Tensor(
        'int64',
        BigInt64Array.from({ length: T }, (_, t) => BigInt(cache.length + t)),
        [1, T],
      );
    } else {
      if (this.spec.index === 0) throw new RangeError('shard 0 takes token ids, not hidden states');
      if (input.hidden.length !== T * C) throw new RangeError(`hidden states hold ${input.hidden.length} values, expected T·C = ${T}·${C}`);
      feeds[HIDDEN_STATES] = new ort.Tensor('float32', input.hidden, [1, T, C]);
    }
    for (const [name, t] of cache.past) feeds[name] = t;
    return feeds;
  }

  private cacheOf(id: string): Cache {
    const known = this.caches.get(id);
    if (known) return known;
    if (this.caches.size >= MAX_GENERATIONS_PER_STAGE) this.forgetOldest();
    const heads = this.config.heads;
    const empty = () => new ort.Tensor('float32', new Float32Array(0), [1, heads, 0, this.config.width / heads]);
    const past = new Map<string, ort.Tensor>();
    for (const { name } of this.io.outputs.slice(1)) past.set(pastNameOf(name), empty());
    const cache = { length: 0, past, usedAt: ++this.clock };
    this.caches.set(id, cache);
    return cache;
  }

  private forgetOldest(): void {
    let oldest: [string, Cache] | null = null;
    for (const entry of this.caches) if (!oldest || entry[1].usedAt < oldest[1].usedAt) oldest = entry;
    if (oldest) this.end(oldest[0]);
  }
}

/** `present.{i}.key` → `past_key_values.{i}.key`: this step's cache is the next step's past. */
function pastNameOf(present: string): string {
  return present.replace(/^present\./, 'past_key_values.');
}
