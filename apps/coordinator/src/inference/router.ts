import type { ServingStage } from '@openshard/volunteer/serving';
import { CheckedStage, type LieReport } from './checked-stage.ts';
import { RemoteStage, type StageLink, type StageLost } from './remote-stage.ts';
import type { ServingRoster } from './serving-roster.ts';

/** Which stages serve one generation: chosen at its start, replaced when one is lost. */
export interface StageSource {
  stagesFor(generation: string): readonly ServingStage[];
  /** A server was lost: the next `stagesFor` has another in its place (never the lost volunteer again for this generation). */
  replace(generation: string, lost: StageLost): void;
  /** The generation is over; `ok`: it completed, so its servers' work is credited. */
  finish(generation: string, ok: boolean): void;
}

/** The coordinator's own stages, always: what serves when no volunteer does. */
export function localStages(stages: readonly ServingStage[]): StageSource {
  return { stagesFor: () => stages, replace: () => {}, finish: () => {} };
}

/** What the router asks of trust and the ledger: whether to check a server, and crediting and convicting. */
export interface ServingPolicy {
  /** True for a server whose identity is not trusted, and now and then for a trusted one. */
  shouldCheck(volunteerId: string): boolean;
  tolerance: number;
  lie: LieReport;
  /** A check that agreed, for the identity's probation. */
  passed(volunteerId: string): void;
  credit(volunteerId: string, shard: number, positions: number, ms: number, taskId: string): void;
}

interface Assignment {
  stages: ServingStage[];
  /** Volunteers lost during this generation, per shard. */
  excluded: Set<string>[];
}

/**
 * Routes each shard of a generation to a volunteer serving it (the least loaded), else to the
 * coordinator's own stage; each generation keeps its servers (they hold its KV cache) until one
 * is lost.
 */
export class ServingRouter implements StageSource {
  private readonly generations = new Map<string, Assignment>();

  constructor(
    private readonly modelId: string,
    private readonly local: readonly ServingStage[],
    private readonly width: number,
    private readonly roster: ServingRoster,
    private readonly link: StageLink,
    private readonly policy: ServingPolicy,
  ) {}

  stagesFor(generation: string): readonly ServingStage[] {
    let a = this.generations.get(generation);
    if (!a) {
      const excluded = this.local.map(() => new Set<string>());
      a = { stages: this.local.map((_, s) => this.choose(s, excluded[s])), excluded };
      this.generations.set(generation, a);
    }
    return a.stages;
  }

  replace(generation: string, lost: StageLost): void {
    const a = this.generations.get(generation);
    if (!a) return;
    const old = a.stages[lost.shard];
    const remote = old instanceof CheckedStage ? old.remote : old instanceof RemoteStage ? old : null;
    if (remote) {
      a.excluded[lost.shard].add(remote.volunteerId);
      this.release(remote);
    }
    a.stages[lost.shard] = this.choose(lost.shard, a.excluded[lost.shard]);
  }

  finish(generation: string, ok: boolean): void {
    const a = this.generations.get(generation);
    if (!a) return;
    this.generations.delete(generation);
    for (const stage of a.stages) {
      const remote = stage instanceof CheckedStage ? stage.remote : stage instanceof RemoteStage ? stage : null;
      if (!remote) continue;
      this.release(remote);
      const work = remote.work.get(generation);
      if (!ok || !work) continue;
      if (stage instanceof CheckedStage && stage.agreed.get(generation)) this.policy.passed(remote.volunteerId);
      const server = this.roster.get(remote.volunteerId);
      if (server) server.served += work.positions;
      this.policy.credit(remote.volunteerId, remote.shard, work.positions, work.ms, `serve/${generation}/${remote.shard}/${remote.volunteerId}`);
    }
  }

  private choose(shard: number, excluded: ReadonlySet<string>): ServingStage {
    const server = this.roster.pick(this.modelId, shard, excluded);
    if (!server) return this.local[shard];
    server.load += 1;
    const remote = new RemoteStage(server.volunteerId, this.modelId, shard, this.width, this.link);
    return this.policy.shouldCheck(server.volunteerId) ? new CheckedStage(remote, this.local[shard], this.policy.tolerance, this.policy.lie) : remote;
  }

  private release(remote: RemoteStage): void {
    const server = this.roster.get(remote.volunteerId);
    if (server && server.load > 0) server.load -= 1;
  }
}
