import type { ServingStage, StageInput } from '@openshard/volunteer/serving';
import type { WireTensor } from '@openshard/protocol';

/** A server that could not run a step: gone, failed, too slow, or caught lying. The generation moves elsewhere. */
export class StageLost extends Error {
  override name = 'StageLost';
  constructor(
    readonly shard: number,
    readonly volunteerId: string | null,
    message: string,
  ) {
    super(message);
  }
}

/** What a remote stage needs from the hub: send a step, await its answer. */
export interface StageLink {
  step(volunteerId: string, m: { generation: string; step: number; modelId: string; shard: number; past: number }, input: WireTensor): Promise<WireTensor>;
  end(volunteerId: string, generation: string): void;
}

/** Serving work done for one generation, credited when it ends well. */
export interface ServedWork {
  positions: number;
  ms: number;
}

/** One shard served by a volunteer over its socket: each step is a message, the output comes back. */
export class RemoteStage implements ServingStage {
  private readonly steps = new Map<string, number>();
  readonly work = new Map<string, ServedWork>();

  constructor(
    readonly volunteerId: string,
    readonly modelId: string,
    readonly shard: number,
    readonly width: number,
    private readonly link: StageLink,
  ) {}

  async step(generation: string, input: StageInput): Promise<Float32Array> {
    const step = this.steps.get(generation) ?? 0;
    this.steps.set(generation, step + 1);
    const tensor: WireTensor =
      input.kind === 'tokens'
        ? { name: 'input', dtype: 'i32', shape: [1, input.tokens.length], data: input.tokens }
        : { name: 'input', dtype: 'f32', shape: [1, input.T, this.width], data: input.hidden };
    const started = performance.now();
    const out = await this.link.step(this.volunteerId, { generation, step, modelId: this.modelId, shard: this.shard, past: input.past }, tensor);
    const w = this.work.get(generation) ?? { positions: 0, ms: 0 };
    w.positions += tensor.shape[1];
    w.ms += performance.now() - started;
    this.work.set(generation, w);
    return out.data as Float32Array;
  }

  end(generation: string): void {
    if (!this.steps.delete(generation)) return;
    this.link.end(this.volunteerId, generation);
  }
}
