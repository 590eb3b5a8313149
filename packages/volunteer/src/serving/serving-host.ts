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
  private stage: OnnxStage | null = null;
  private modelId: string | null = null;
  /** Steps run one at a time, in arrival order (one session runs one step at a time). */
  private queue: Promise<void> = Promise.resolve();
  private paused = false;

  constructor(
    private readonly backends: readonly ServingBackend[],
    private readonly link: ServingLink,
    private readonly onEvent?: (e: ServingEvent) => void,
  ) {}

  serveShard(m: ServerMessage<'serveShard'>, tensors: readonly WireTensor[]): void {
    this.enqueue(
      async () => {
        const values = new Map(tensors.map((t) => [t.name, t.data as Float32Array]));
        const graph = shardGraph(m.config, m.shard, (p) => {
          const v = values.get(p.name);
          if (!v) throw new Error(`serveShard for shard ${m.shard.index} lacks parameter '${p.name}'`);
          return v;
        });
        const stage = await OnnxStage.load(graph, m.config, m.shard, this.backends);
        await this.stage?.release();
        this.stage = stage;
        this.modelId = m.modelId;
        this.link.serving({ modelId: m.modelId, shard: m.shard.index, backend: stage.backend });
        this.onEvent?.({ type: 'serving', modelId: m.modelId, shard: m.shard.index, backend: stage.backend });
      },
      (message) => this.onEvent?.({ type: 'serving-failed', message }),
    );
  }

  step(m: ServerMessage<'step'>, tensors: readonly WireTensor[]): void {
    this.enqueue(
      async () => {
        if (this.paused) throw new Error('paused: this volunteer gives no compute now');
        const stage = this.stage;
        if (!stage || m.modelId !== this.modelId || m.shard !== stage.spec.index)
          throw new Error(`this volunteer serves ${this.modelId ? `shard ${stage?.spec.index} of ${this.modelId}` : 'nothing yet'}, not shard ${m.shard} of ${m.modelId}`);
        if (m.step === 0) stage.end(m.generation);
        const input = tensors[0];
        if (!input || tensors.length !== 1) throw new Error(`a step carries one tensor, not ${tensors.length}`);
        const T = input.shape[1];
        const out = await stage.step(m.generation, input.dtype === 'i32' ? { kind: 'tokens', tokens: input.data as Int32Array } : { kind: 'hidden', hidden: input.data as Float32Array, T });
        this.link.stepped({ generation: m.generation, step: m.step }, { name: 'output', dtype: 'f32', shape: [1, T, out.length / T], data: out });
      },
      (message) => this.link.stepFailed({ generation: m.generation, step: m.step, message: message.slice(0, 500) }),
    );
  }

  endGeneration(m: ServerMessage<'endGeneration'>): void {
    this.enqueue(
      async () => this.stage?.end(m.generation),
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
    const stage = this.stage;
    if (stage && this.modelId) this.link.serving({ modelId: this.modelId, shard: stage.spec.index, backend: stage.backend });
  }

  async dispose(): Promise<void> {
    await this.queue;
    await this.stage?.release();
    this.stage = null;
  }

  private enqueue(work: () => Promise<void>, failed: (message: string) => void): void {
    this.queue = this.queue.then(work).catch((e: unknown) => failed((e as Error).message));
  }
}
