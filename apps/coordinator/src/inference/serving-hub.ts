import { shardParameterSpecs } from '@openshard/model';
import { ProtocolError, type ClientMessage, type WireTensor } from '@openshard/protocol';
import { refusal, type Effect } from '../coordinator-io.ts';
import type { Coordinator } from '../coordinator.ts';
import { StageLost, type StageLink } from './remote-stage.ts';
import type { ServedModel } from './served-model.ts';
import type { ServingRoster } from './serving-roster.ts';

/** How long a volunteer has to answer one generation step before the generation moves on without it (ms). */
export const STEP_TIMEOUT_MS = 10_000;

/** Runs work in the coordinator's serial queue and sends the effects it returns. */
export type Enqueue = (work: () => Promise<Effect[]> | Effect[]) => void;

interface PendingStep {
  volunteerId: string;
  /** The output's expected shape: [1, T, C], or [1, T, V] on the last shard. */
  shape: number[];
  /** An answer arrived (it may still wait in the serial queue). */
  answered: boolean;
  resolve(t: WireTensor): void;
  /** The step is lost: the generation replays without this server. */
  lose(why: string): void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * The coordinator's side of volunteer serving: offers each holder its shard of the served model,
 * keeps the roster of servers, sends generation steps and matches their answers (checking each
 * one's shape), and turns a lost server into a `StageLost` so the pipeline replays elsewhere.
 */
export class ServingHub implements StageLink {
  private readonly pending = new Map<string, PendingStep>();
  /** What each volunteer was offered last: `${model key}/${shard}`. */
  private readonly offered = new Map<string, string>();
  private model: ServedModel | null = null;
  private enqueue: Enqueue | null = null;

  constructor(
    readonly roster: ServingRoster,
    private readonly coordinatorOf: () => Coordinator,
  ) {}

  private get coordinator(): Coordinator {
    return this.coordinatorOf();
  }

  /** Where work on the coordinator's state runs, in turn with every socket event, and its effects go out (the server, once it listens). */
  attach(enqueue: Enqueue): void {
    this.enqueue = enqueue;
    this.send(this.offers());
  }

  /** Runs work on the coordinator's state in turn with socket events. */
  run(work: () => Promise<Effect[]> | Effect[]): void {
    if (!this.enqueue) throw new Error('the serving hub is not attached to a server yet');
    this.enqueue(work);
  }

  private send(effects: Effect[]): void {
    if (effects.length > 0) this.run(() => effects);
  }

  /** A new model is served: every holder is offered its shard. */
  serve(model: ServedModel): void {
    this.model = model;
    if (this.enqueue) this.send(this.offers());
  }

  /** Offers every holder not yet offered the served model's shard it holds. */
  private offers(): Effect[] {
    return [...this.coordinator.volunteers.keys()].flatMap((id) => this.offerTo(id));
  }

  /** Offers one volunteer the served model's shard it holds, unless it was offered that already (after its `ready`, say). */
  offerTo(volunteerId: string): Effect[] {
    const m = this.model;
    const v = this.coordinator.volunteers.get(volunteerId);
    const spec = v && m?.specs[v.shard];
    if (!m || !v || !spec || this.offered.get(v.id) === `${m.checkpoint}/${v.shard}`) return [];
    if (this.roster.get(v.id)?.shard !== v.shard) this.roster.remove(v.id);
    this.offered.set(v.id, `${m.checkpoint}/${v.shard}`);
    const tensors = shardParameterSpecs(m.config, spec).map((p) => ({ name: p.name, dtype: 'f32' as const, shape: p.shape, data: m.values.get(p.name)! }));
    return [{ to: v.id, type: 'serveShard', message: { modelId: modelKey(m), config: m.config, shard: spec, tensors: [] }, tensors }];
  }

  serving(volunteerId: string, msg: ClientMessage<'serving'>): Effect[] {
    const v = this.coordinator.volunteers.get(volunteerId);
    const m = this.model;
    // only what it was offered, and not again after a failure until it is offered again (at its next `ready`)
    if (!v || !m || msg.modelId !== modelKey(m) || msg.shard !== v.shard || this.offered.get(volunteerId) !== `${m.checkpoint}/${v.shard}`) {
      // not counted toward a disconnect: a server resuming after a failure announces itself before it is offered again
      return this.coordinator.refuse(volunteerId, new ProtocolError('bad-message', `serving: shard ${msg.shard} of ${msg.modelId} is not what this volunteer was offered`), undefined, false);
    }
    this.roster.add({ volunteerId, name: v.name, modelId: msg.modelId, shard: msg.shard, backend: msg.backend });
    return [];
  }

  /** Whether a message off a socket answers a step this hub awaits from it (read before parsing: every field is checked). */
  awaits(volunteerId: string, type: string, json: unknown): boolean {
    if (type !== 'stepped' || typeof json !== 'object' || json === null) return false;
    const { generation, step } = json as { generation?: unknown; step?: unknown };
    if (typeof generation !== 'string' || typeof step !== 'number') return false;
    const p = this.pending.get(pendingKey(volunteerId, generation, step));
    // the first answer only: duplicates count toward the flood limit like any message
    if (!p || p.answered) return false;
    p.answered = true;
    return true;
  }

  stepped(volunteerId: string, msg: ClientMessage<'stepped'>, tensors: WireTensor[]): Effect[] {
    const key = pendingKey(volunteerId, msg.generation, msg.step);
    const p = this.pending.get(key);
    // a late answer (after a timeout or a replay): not counted against the volunteer
    if (!p) return [refusal(volunteerId, new ProtocolError('stale', `stepped: step ${msg.step} of generation ${msg.generation} is not awaited (too late, or never sent)`), undefined)];
    this.settle(key);
    const out = tensors[0];
    if (tensors.length !== 1 || out.dtype !== 'f32' || out.shape.join(',') !== p.shape.join(',')) {
      this.drop(volunteerId);
      p.lose(`its step output is ${tensors.map((t) => `${t.dtype}[${t.shape}]`).join(', ')}, expected f32[${p.shape}]`);
      return this.coordinator.refuse(volunteerId, new ProtocolError('bad-tensor', `stepped: expected one f32 tensor of shape [${p.shape}]`));
    }
    p.resolve(out);
    return [];
  }

  stepFailed(volunteerId: string, msg: ClientMessage<'stepFailed'>): Effect[] {
    const key = pendingKey(volunteerId, msg.generation, msg.step);
    const p = this.pending.get(key);
    if (!p) return [];
    this.settle(key);
    this.drop(volunteerId);
    p.lose(`it could not run the step: ${msg.message}`);
    return [];
  }

  /** A volunteer left: it serves nothing, and its steps in flight are lost. */
  left(volunteerId: string): void {
    this.roster.remove(volunteerId);
    this.offered.delete(volunteerId);
    for (const [key, p] of this.pending) {
      if (p.volunteerId !== volunteerId) continue;
      this.settle(key);
      p.lose('it disconnected');
    }
  }

  step(volunteerId: string, m: { generation: string; step: number; modelId: string; shard: number; past: number }, input: WireTensor): Promise<WireTensor> {
    const model = this.model!;
    const last = m.shard === model.specs.length - 1;
    const shape = [1, input.shape[1], last ? model.config.vocabSize : model.config.width];
    const lost = (why: string) => new StageLost(m.shard, volunteerId, why);
    // it left (or stopped serving) since this generation chose it
    if (!this.roster.get(volunteerId)) return Promise.reject(lost('it no longer serves'));
    return new Promise<WireTensor>((resolve, reject) => {
      const key = pendingKey(volunteerId, m.generation, m.step);
      const timer = setTimeout(() => {
        this.settle(key);
        this.drop(volunteerId);
        reject(lost(`it did not answer step ${m.step} within ${STEP_TIMEOUT_MS} ms`));
      }, STEP_TIMEOUT_MS);
      this.pending.set(key, { volunteerId, shape, answered: false, timer, resolve, lose: (why) => reject(lost(why)) });
      this.send([{ to: volunteerId, type: 'step', message: { ...m, tensors: [] }, tensors: [input] }]);
    });
  }

  end(volunteerId: string, generation: string): void {
    this.send([{ to: volunteerId, type: 'endGeneration', message: { generation } }]);
  }

  close(): void {
    for (const key of [...this.pending.keys()]) this.settle(key);
  }

  /** A server that failed or timed out serves no new generation; it is offered its shard again at its next `ready` (it may have been slow once, or paused). */
  private drop(volunteerId: string): void {
    this.roster.remove(volunteerId);
    this.offered.delete(volunteerId);
  }

  private settle(key: string): void {
    const p = this.pending.get(key);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(key);
  }
}

/** What names a served model on the wire: its id and checkpoint, so a server of an older checkpoint is never used. */
export function modelKey(m: Pick<ServedModel, 'id' | 'checkpoint'>): string {
  const name = m.checkpoint.split(/[\\/]/).filter(Boolean).pop() ?? m.checkpoint;
  return `${m.id}@${name}`.slice(0, 128);
}

function pendingKey(volunteerId: string, generation: string, step: number): string {
  return `${volunteerId}|${generation}|${step}`;
}
