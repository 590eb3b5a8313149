import type { StageInput } from '@openshard/volunteer/serving';
import { StageLost } from './remote-stage.ts';
import type { StageSource } from './router.ts';

/** Times one generation step is replayed on other servers before the request fails. */
export const MAX_REPLAYS = 3;

/**
 * The served model's stages in order: new tokens in, the last position's logits out. When a
 * server is lost mid-generation, another takes its place and the whole prefix is replayed
 * through the stages, so the caller sees only the delay.
 */
export class Pipeline {
  /** Tokens each generation has fed so far (the prefix a replay starts from). */
  private readonly fed = new Map<string, number[]>();

  constructor(
    readonly source: StageSource,
    readonly vocabSize: number,
  ) {}

  /** Feeds the generation's new tokens through every stage; returns the logits of their last position. */
  async next(generation: string, tokens: Int32Array): Promise<Float32Array> {
    const fed = this.fed.get(generation) ?? [];
    let input = tokens;
    let past = fed.length;
    for (let replays = 0; ; replays++) {
      try {
        const logits = await this.through(generation, input, past);
        fed.push(...tokens);
        this.fed.set(generation, fed);
        return logits;
      } catch (e) {
        if (!(e instanceof StageLost) || replays >= MAX_REPLAYS) throw e;
        for (const stage of this.source.stagesFor(generation)) stage.end(generation);
        this.source.replace(generation, e);
        input = Int32Array.from([...fed, ...tokens]);
        past = 0;
      }
    }
  }

  /** Forgets the generation everywhere; `ok`: it completed (its servers are credited). */
  end(generation: string, ok: boolean): void {
    for (const stage of this.source.stagesFor(generation)) stage.end(generation);
    this.source.finish(generation, ok);
    this.fed.delete(generation);
  }

  private async through(generation: string, tokens: Int32Array, past: number): Promise<Float32Array> {
    let input: StageInput = { kind: 'tokens', tokens, past };
    let out: Float32Array = new Float32Array(0);
    for (const stage of this.source.stagesFor(generation)) {
      out = await stage.step(generation, input);
      input = { kind: 'hidden', hidden: out, T: tokens.length, past };
    }
    const V = this.vocabSize;
    if (out.length !== tokens.length * V) throw new Error(`the last stage returned ${out.length} values, expected ${tokens.length}·${V} logits`);
    return out.subarray(out.length - V);
  }
}
