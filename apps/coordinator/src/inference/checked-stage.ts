import type { ServingStage, StageInput } from '@openshard/volunteer/serving';
import { relativeError } from '../trust/compare.ts';
import { StageLost, type RemoteStage } from './remote-stage.ts';

/** What a checked server's lie leads to: the coordinator convicts it (banned, unvested work forfeited). */
export type LieReport = (volunteerId: string, reason: string) => void;

/**
 * A volunteer's stage whose every step the coordinator also runs on its own stage (same graph,
 * same KV cache history), comparing the two: a server that is not trusted yet is always checked,
 * a trusted one now and then (the training audit rate). The caller gets the coordinator's own
 * output, so a lie never reaches a user; a lie is reported and ends this server's part.
 */
export class CheckedStage implements ServingStage {
  /** Steps of each generation that agreed. */
  readonly agreed = new Map<string, number>();

  constructor(
    readonly remote: RemoteStage,
    private readonly local: ServingStage,
    private readonly tolerance: number,
    private readonly lie: LieReport,
  ) {}

  async step(generation: string, input: StageInput): Promise<Float32Array> {
    const [theirs, ours] = await Promise.all([this.remote.step(generation, input).catch((e: unknown) => e as Error), this.local.step(generation, input)]);
    if (theirs instanceof Error) throw theirs;
    const error = theirs.length === ours.length ? relativeError(theirs, ours) : Infinity;
    if (!(error <= this.tolerance)) {
      const reason = `its output for a step of generation ${generation} on shard ${this.remote.shard} differs from the coordinator's (relative error ${Number.isFinite(error) ? error.toPrecision(2) : 'unbounded'}, tolerance ${this.tolerance})`;
      this.lie(this.remote.volunteerId, reason);
      throw new StageLost(this.remote.shard, this.remote.volunteerId, reason);
    }
    this.agreed.set(generation, (this.agreed.get(generation) ?? 0) + 1);
    return ours;
  }

  end(generation: string): void {
    this.remote.end(generation);
    this.local.end(generation);
  }
}
