import { partition, type GptConfig } from '@openshard/model';
import { shardGraph } from '@openshard/model/onnx';
import { loadModel } from '@openshard/trainer';
import { OnnxStage } from '@openshard/volunteer/serving';
import { Pipeline } from './pipeline.ts';

/** A committed checkpoint being served: its shards' ONNX graphs in onnxruntime, chained. */
export interface ServedModel {
  /** The name callers give as `model`. */
  id: string;
  checkpoint: string;
  config: GptConfig;
  pipeline: Pipeline;
  /** Unix seconds it was loaded (the `created` of /v1/models). */
  created: number;
}

/**
 * Builds each shard's ONNX graph from a checkpoint (the same partition the network trains) and
 * loads it in onnxruntime-web's wasm backend in this process: the coordinator serves every shard
 * nobody else serves.
 */
export async function loadServedModel(id: string, checkpoint: string, shards: number): Promise<ServedModel> {
  const { config, values } = loadModel(checkpoint);
  const stages: OnnxStage[] = [];
  try {
    for (const spec of partition(config, shards)) {
      const graph = shardGraph(config, spec, (p) => values.get(p.name)!);
      stages.push(await OnnxStage.load(graph, config, spec, ['wasm']));
    }
  } catch (e) {
    for (const s of stages) await s.release();
    throw e;
  }
  return { id, checkpoint, config, pipeline: new Pipeline(stages, config.vocabSize), created: Math.floor(Date.now() / 1000) };
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
  ) {}

  get current(): ServedModel | null {
    return this.model;
  }

  /** Serves `checkpoint` from now on unless a checkpoint is pinned or it is served already; in order, one load at a time. */
  offer(checkpoint: string | null): Promise<void> {
    const wanted = this.pinned ?? checkpoint;
    this.loading = this.loading.then(async () => {
      if (!wanted || this.model?.checkpoint === wanted) return;
      const next = await loadServedModel(this.id, wanted, this.shards);
      const previous = this.model;
      this.model = next;
      if (previous && !this.users.get(previous)) await this.release(previous);
    });
    return this.loading;
  }

  /** Runs `use` on the current model, keeping it loaded until `use` settles. */
  async with<T>(use: (m: ServedModel) => Promise<T>): Promise<T> {
    const m = this.model;
    if (!m) throw new Error('no model is served yet');
    this.users.set(m, (this.users.get(m) ?? 0) + 1);
    try {
      return await use(m);
    } finally {
      const left = this.users.get(m)! - 1;
      if (left > 0) this.users.set(m, left);
      else {
        this.users.delete(m);
        if (m !== this.model) await this.release(m);
      }
    }
  }

  async close(): Promise<void> {
    await this.loading.catch(() => {});
    if (this.model) await this.release(this.model);
    this.model = null;
  }

  private async release(m: ServedModel): Promise<void> {
    for (const s of m.pipeline.stages) await (s as OnnxStage).release();
  }
}
