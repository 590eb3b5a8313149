import type { TaskKind } from '@openshard/protocol';
import type { TaskGraph } from '../scheduler/task-graph.ts';

/** One task of a round: a micro-batch through one shard in one direction. */
export interface TaskKey {
  kind: TaskKind;
  shard: number;
  microBatch: number;
}

export function taskId(round: number, t: TaskKey): string {
  return `r${round}/${t.kind}/s${t.shard}/m${t.microBatch}`;
}

/**
 * The task graph of one synchronous round (docs/architecture.md, "The life of a training round"): per micro-batch m,
 * F(0,m) → F(1,m) → … → L(m) on the last shard (loss and its backward) → B(S−2,m) → … → B(0,m).
 * A shard's gradients are complete when its M gradient tasks (B, or L on the last shard) are done.
 * Owned by the TrainingRun, the only writer (`complete`); everyone else reads a `RoundView`.
 */
export class RoundPlan implements TaskGraph<TaskKey> {
  readonly tasks: TaskKey[] = [];
  private readonly done = new Set<string>();
  private readonly ids = new Map<TaskKey, string>();
  /** ready() between two completions, when nothing can change it. */
  private readyCache: TaskKey[] | null = null;

  constructor(
    readonly round: number,
    readonly shards: number,
    readonly microBatches: number,
  ) {
    if (!Number.isInteger(shards) || shards < 1) throw new RangeError(`shards is ${shards}; it must be a positive integer`);
    if (!Number.isInteger(microBatches) || microBatches < 1) throw new RangeError(`microBatches is ${microBatches}; it must be a positive integer`);
    for (let m = 0; m < microBatches; m++) {
      for (let s = 0; s < shards - 1; s++) this.tasks.push({ kind: 'forward', shard: s, microBatch: m });
      this.tasks.push({ kind: 'lossAndBackward', shard: shards - 1, microBatch: m });
      for (let s = shards - 2; s >= 0; s--) this.tasks.push({ kind: 'backward', shard: s, microBatch: m });
    }
    for (const t of this.tasks) this.ids.set(t, taskId(round, t));
  }

  id(t: TaskKey): string {
    return this.ids.get(t) ?? taskId(this.round, t);
  }

  /** The task whose output this one needs, if any. */
  dependency(t: TaskKey): TaskKey | null {
    const last = this.shards - 1;
    const m = t.microBatch;
    if (t.kind === 'forward') return t.shard === 0 ? null : { kind: 'forward', shard: t.shard - 1, microBatch: m };
    if (t.kind === 'lossAndBackward') return last === 0 ? null : { kind: 'forward', shard: last - 1, microBatch: m };
    return t.shard === last - 1 ? { kind: 'lossAndBackward', shard: last, microBatch: m } : { kind: 'backward', shard: t.shard + 1, microBatch: m };
  }

  isDone(t: TaskKey): boolean {
    return this.done.has(this.id(t));
  }

  /** Tasks not done whose input exists. */
  ready(): TaskKey[] {
    this.readyCache ??= this.tasks.filter((t) => {
      if (this.isDone(t)) return false;
      const dep = this.dependency(t);
      return dep === null || this.isDone(dep);
    });
    return this.readyCache;
  }

  complete(t: TaskKey): void {
    const dep = this.dependency(t);
    if (dep && !this.isDone(dep)) throw new Error(`${this.id(t)} completed before its input ${this.id(dep)}`);
    this.done.add(this.id(t));
    this.readyCache = null;
  }

  /** All M gradient tasks of shard s are done: its gradients can be summed and its optimizer stepped. */
  shardComplete(s: number): boolean {
    return this.tasks.every((t) => t.shard !== s || t.kind === 'forward' || this.isDone(t));
  }

  get closed(): boolean {
    return this.done.size === this.tasks.length;
  }
}

/** The plan as everyone but its owner sees it: read-only. */
export type RoundView = Omit<RoundPlan, 'complete'>;
