import { shardGraph } from '@openshard/model/onnx';
import type { ClientMessage, ServerMessage, WireTensor } from '@openshard/protocol';
import { OnnxStage, type ServingBackend } from './onnx-stage.ts';

/** What a serving host sends back to the coordinator. */
export interface ServingLink {
  serving(m: ClientMessage<'serving'>): void;
  stepped(m: Omit<ClientMessage<'stepped'>, 'tensors'>, output: WireTensor): void;
  stepFailed(m: ClientMessage<'stepFailed'>): void;
}

/** What a host tells its owner (the tab shows which backend it got). */
export type ServingEvent = { type: 'serving'; modelId: string; shard: number; backend: ServingBackend } | { type: 'serving-failed'; message: string };

/**
 * A volunteer serving its shard of the served model: builds the shard's ONNX graph from the
 * weights the coordinator sends, loads it in onnxruntime-web (WebGPU, else wasm), and runs the
 * generation steps it is sent, keeping each generation's KV cache.
 */
export class ServingHost {
  /** The served checkpoint's stage, and the one before it (generations under way finish on it). */
  private stages: { modelId: string; stage: OnnxStage }[] = [];
  /** Steps run one at a time, in arrival order (one session runs one step at a time). */
  private queue: Promise<void> = Promise.resolve();
  /** Loads run one at a time beside the steps: a new checkpoint's warm-up does not hold up generations on the old one. */
  private loading: Promise<void> = Promise.resolve();
  private paused = false;

  constructor(
    private readonly backends: readonly ServingBackend[],
    private readonly link: ServingLink,
    private readonly onEvent?: (e: ServingEvent) => void,
  ) {}

  serveShard(m: ServerMessage<'serveShard'>, tensors: readonly WireTensor[]): void {
    this.loading = this.loading
      .then(async () => {
        const values = new Map(tensors.map((t) => [t.name, t.data as Float32Array]));
        const graph = shardGraph(m.config, m.shard, (p) => {
          const v = values.get(p.name);
          if (!v) throw new Error(`serveShard for shard ${m.shard.index} lacks parameter '${p.name}'`);
          return v;
        });
        const stage = await OnnxStage.load(graph, m.config, m.shard, this.backends);
        this.stages.unshift({ modelId: m.modelId, stage });
        // the one before the previous is released once the steps queued before now have run
        for (const old of this.stages.splice(2))
          this.enqueue(
            () => old.stage.release(),
            () => {},
          );
        this.onEvent?.({ type: 'serving', modelId: m.modelId, shard: m.shard.index, backend: stage.backend });
        if (!this.paused) this.announce();
      })
      .catch((e: unknown) => this.onEvent?.({ type: 'serving-failed', message: (e as Error).message }));
  }

  step(m: ServerMessage<'step'>, tensors: readonly WireTensor[]): void {
    this.enqueue(
      async () => {
        if (this.paused) throw new Error('paused: this volunteer gives no compute now');
        const stage = this.stages.find((s) => s.modelId === m.modelId)?.stage;
        if (!stage || m.shard !== stage.spec.index) throw new Error(`this volunteer does not serve shard ${m.shard} of ${m.modelId}`);
        if (m.step === 0) stage.end(m.generation);
        const input = tensors[0];
        if (!input || tensors.length !== 1) throw new Error(`a step carries one tensor, not ${tensors.length}`);
        const T = input.shape[1];
        const out = await stage.step(
          m.generation,
          input.dtype === 'i32' ? { kind: 'tokens', tokens: input.data as Int32Array, past: m.past } : { kind: 'hidden', hidden: input.data as Float32Array, T, past: m.past },
        );
        this.link.stepped({ generation: m.generation, step: m.step }, { name: 'output', dtype: 'f32', shape: [1, T, out.length / T], data: out });
      },
      (message) => this.link.stepFailed({ generation: m.generation, step: m.step, message: message.slice(0, 500) }),
    );
  }

  endGeneration(m: ServerMessage<'endGeneration'>): void {
    this.enqueue(
      async () => {
        for (const s of this.stages) s.stage.end(m.generation);
      },
      () => {},
    );
  }

  /** Paused: steps are refused (the coordinator moves the generation to another server) until `resume`. */
  pause(): void {
    this.paused = true;
  }

  /** Serving again: the coordinator is told, as after loading. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.announce();
  }

  async dispose(): Promise<void> {
    await this.loading;
    await this.queue;
    for (const s of this.stages.splice(0)) await s.stage.release();
  }

  /** Tells the coordinator what this volunteer serves now: the newest stage. */
  private announce(): void {
    const current = this.stages[0];
    if (current) this.link.serving({ modelId: current.modelId, shard: current.stage.spec.index, backend: current.stage.backend });
  }

  private enqueue(work: () => Promise<void>, failed: (message: string) => void): void {
    this.queue = this.queue.then(work).catch((e: unknown) => failed((e as Error).message));
  }
}
