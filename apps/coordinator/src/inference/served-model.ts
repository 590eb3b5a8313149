import { partition, type GptConfig, type ParameterValues, type ShardSpec } from '@openshard/model';
import { shardGraph } from '@openshard/model/onnx';
import { loadModel } from '@openshard/trainer';
import { OnnxStage } from '@openshard/volunteer/serving';
import { Pipeline } from './pipeline.ts';
import { localStages, type StageSource } from './router.ts';

/** Chooses who serves each generation's stages: the coordinator alone, or volunteers too. */
export type StageRouting = (m: Omit<ServedModel, 'pipeline'>) => StageSource;

/** A committed checkpoint being served: its shards' ONNX graphs in onnxruntime, chained. */
export interface ServedModel {
  /** The name callers give as `model`. */
  id: string;
  checkpoint: string;
  config: GptConfig;
  specs: ShardSpec[];
  /** The checkpoint's parameters (the weights sent to volunteers that serve a shard). */
  values: ParameterValues;
  /** The coordinator's own stage of every shard. */
  local: OnnxStage[];
  pipeline: Pipeline;
  /** Unix seconds it was loaded (the `created` of /v1/models). */
  created: number;
}

/**
 * Builds each shard's ONNX graph from a checkpoint (the same partition the network trains) and
 * loads it in onnxruntime-web's wasm backend in this process: the coordinator serves every shard
 * nobody else serves.
 */
export async function loadServedModel(id: string, checkpoint: string, shards: number, routing: StageRouting = (m) => localStages(m.local)): Promise<ServedModel> {
  const { config, values } = loadModel(checkpoint);
  const specs = partition(config, shards);
  const stages: OnnxStage[] = [];
  try {
    for (const spec of specs) {
      const graph = shardGraph(config, spec, (p) => values.get(p.name)!);
      stages.push(await OnnxStage.load(graph, config, spec, ['wasm']));
    }
  } catch (e) {
    for (const s of stages) await s.release();
    throw e;
  }
  const model = { id, checkpoint, config, specs, values, local: stages, created: Math.floor(Date.now() / 1000) };
  return { ...model, pipeline: new Pipeline(routing(model), config.vocabSize) };
}

/**
 * Which model is served now: the latest committed checkpoint (or the one pinned), swapped in when
 * a newer one is committed. Generations under way finish on the model they started on; a replaced
 * model's sessions are released when its last generation ends.
 */
export class ModelServer {
  private model: ServedModel | null = null;
  private readonly users = new Map<ServedModel, number>();
  private loading: Promise<void> = Promise.resolve();

  constructor(
    readonly id: string,
    private readonly shards: number,
    /** A checkpoint folder served whatever training commits. */
    readonly pinned: string | null = null,
    private readonly routing?: StageRouting,
    /** Told when a new model is served (volunteers are offered its shards). */
    private readonly onServed?: (m: ServedModel) => void,
  ) {}

  get current(): ServedModel | null {
    return this.model;
  }

  /** Models in memory: the current one, and replaced ones still finishing generations. */
  get loaded(): number {
    const held = new Set(this.users.keys());
    if (this.model) held.add(this.model);
    return held.size;
  }

  /** Serves `checkpoint` from now on unless a checkpoint is pinned or it is served already; in order, one load at a time. */
  offer(checkpoint: string | null): Promise<void> {
    const wanted = this.pinned ?? checkpoint;
    this.loading = this.loading.then(async () => {
      if (!wanted || this.model?.checkpoint === wanted) return;
      const next = await loadServedModel(this.id, wanted, this.shards, this.routing);
      const previous = this.model;
      this.model = next;
      this.onServed?.(next);
      if (previous && !this.users.get(previous)) await this.release(previous);
    });
    return this.loading;
  }

  /** The current model, kept loaded until `release` is called (a stream outlives the request handler). */
  acquire(): { model: ServedModel; release: () => Promise<void> } {
    const m = this.model;
    if (!m) throw new Error('no model is served yet');
    this.users.set(m, (this.users.get(m) ?? 0) + 1);
    let released = false;
    return {
      model: m,
      release: async () => {
        if (released) return;
        released = true;
        const left = this.users.get(m)! - 1;
        if (left > 0) return void this.users.set(m, left);
        this.users.delete(m);
        if (m !== this.model) await this.release(m);
      },
    };
  }

  async close(): Promise<void> {
    await this.loading.catch(() => {});
    if (this.model) await this.release(this.model);
    this.model = null;
  }

  private async release(m: ServedModel): Promise<void> {
    for (const s of m.local) await s.release();
  }
}
