import type { ServingStage, StageInput } from '@openshard/volunteer/serving';

/** The served model's stages in order: new tokens in, the last position's logits out. */
export class Pipeline {
  constructor(
    readonly stages: readonly ServingStage[],
    readonly vocabSize: number,
  ) {
    if (stages.length === 0) throw new RangeError('a pipeline needs at least one stage');
  }

  /** Feeds the generation's new tokens through every stage; returns the logits of the last one. */
  async next(generation: string, tokens: Int32Array): Promise<Float32Array> {
    let input: StageInput = { kind: 'tokens', tokens };
    let out: Float32Array = new Float32Array(0);
    for (const stage of this.stages) {
      out = await stage.step(generation, input);
      input = { kind: 'hidden', hidden: out, T: tokens.length };
    }
    const V = this.vocabSize;
    if (out.length !== tokens.length * V) throw new Error(`the last stage returned ${out.length} values, expected ${tokens.length}·${V} logits`);
    return out.subarray(out.length - V);
  }

  end(generation: string): void {
    for (const stage of this.stages) stage.end(generation);
  }
}
