import { shardFlops } from '@openshard/model';
import type { Volunteer } from '../coordinator-io.ts';
import type { TaskRecord } from '../store/stores.ts';
import type { TaskKey } from './round-plan.ts';
import type { TrainingRun } from './training-run.ts';

/** How fast a volunteer's throughput estimate follows its latest task (weight of the newest in a moving average). */
const THROUGHPUT_EWMA = 0.3;

/** Which lease of which round a record is for. */
export interface TaskRef {
  round: number;
  taskId: string;
  leaseId: string;
}

/**
 * The work accepted in the current round, committed with it (or handed to a rewind): each task
 * with its work units and who did it, and each volunteer's totals and throughput. Times are what
 * the coordinator saw, never what a volunteer says.
 */
export class RoundLog {
  private records: TaskRecord[] = [];

  constructor(private readonly run: TrainingRun) {}

  /** The volunteer's task is accepted: logged, its work units counted to it, its throughput updated. Returns the units. */
  credit(v: Volunteer, task: TaskKey, ref: TaskRef, elapsedMs: number): number {
    const flops = this.log(task, ref, v, elapsedMs);
    const rate = flops / Math.max(elapsedMs, 1e-3);
    v.throughput = v.throughput === null ? rate : (1 - THROUGHPUT_EWMA) * v.throughput + THROUGHPUT_EWMA * rate;
    v.tasksAccepted += 1;
    v.flopsAccepted += flops;
    return flops;
  }

  /** A task in the round's log under `who` (the coordinator's own work too), counted to nobody. Returns its work units. */
  log(task: TaskKey, ref: TaskRef, who: { name: string; address: string | null }, computeMs: number): number {
    const { config, batch } = this.run.options;
    const flops = shardFlops(config, this.run.specs[task.shard], task.kind, batch, config.contextLength);
    this.records.push({ ...ref, volunteer: who.name, kind: task.kind, shard: task.shard, microBatch: task.microBatch, flops, computeMs, address: who.address });
    return flops;
  }

  /** Takes back the credit of a volunteer's gradient tasks of this round (not its audits): its sum of them was never had. */
  uncredit(v: Volunteer, shard: number, microBatches: readonly number[]): void {
    const taken = this.records.filter(
      (r) => r.volunteer === v.name && r.address === v.address && r.shard === shard && r.kind !== 'forward' && r.kind !== 'serve' && !r.leaseId.startsWith('A') && microBatches.includes(r.microBatch),
    );
    this.records = this.records.filter((r) => !taken.includes(r));
    v.tasksAccepted -= taken.length;
    v.flopsAccepted -= taken.reduce((a, r) => a + r.flops, 0);
  }

  /** Serving work (`positions` of a generation through `shard`), credited like a task, as kind 'serve'. */
  serving(v: Volunteer, shard: number, positions: number, elapsedMs: number, taskId: string): void {
    const flops = shardFlops(this.run.options.config, this.run.specs[shard], 'forward', 1, positions);
    v.tasksAccepted += 1;
    v.flopsAccepted += flops;
    this.records.push({ round: this.run.round, taskId, leaseId: taskId, volunteer: v.name, kind: 'serve', shard, microBatch: 0, flops, computeMs: elapsedMs, address: v.address });
  }

  /** The round's records, handed over: the log starts empty. */
  take(): TaskRecord[] {
    const records = this.records;
    this.records = [];
    return records;
  }
}
