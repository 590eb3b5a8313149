/**
 * What flows into a stage: token ids on the first, the previous stage's hidden states on the
 * others; `past` is how many positions of the generation the stage must hold already (a stage
 * that holds another number refuses the step rather than computing on the wrong cache).
 */
export type StageInput = ({ kind: 'tokens'; tokens: Int32Array } | { kind: 'hidden'; hidden: Float32Array; T: number }) & { past: number };

/**
 * One shard of the served model, serving generations: each generation is a session whose KV cache
 * the stage keeps, so a step carries only the new positions. The output is the stage's hidden
 * states [T, C], or logits [T, V] on the last stage.
 */
export interface ServingStage {
  step(generation: string, input: StageInput): Promise<Float32Array>;
  /** Forgets the generation's KV cache. */
  end(generation: string): void;
}
