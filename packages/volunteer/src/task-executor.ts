import { Shard, type GptConfig, type ShardSpec } from '@openshard/model';
import type { ServerMessage, WireTensor } from '@openshard/protocol';
import { DeviceLostError, type Backend } from '@openshard/tensor';
import { executeTask, type TaskOutput } from './execute-task.ts';

/** What an executor needs of a task message: the pass to run and, for lossAndBackward, the loss scale. */
export type TaskToExecute = Pick<ServerMessage<'task'>, 'kind' | 'lossScale'>;

/**
 * Runs tasks on one shard's weights. The volunteer's shell holds one executor and never more than
 * one call in flight: weights are loaded only between tasks.
 */
export interface TaskExecutor {
  /** Replaces the weights held by those of shard `spec` (only that shard's parameters, by name). */
  load(config: GptConfig, spec: ShardSpec, weights: readonly WireTensor[]): Promise<void>;
  execute(task: TaskToExecute, inputs: readonly WireTensor[]): Promise<TaskOutput>;
  /** Whether `error` means the device is gone and a new executor is needed. */
  deviceLost(error: unknown): Promise<boolean>;
  dispose(): void;
}

/** How long a device loss may take to be reported after the error it caused (ms). */
const LOSS_REPORT_MS = 100;

/** Our own kernels: a `Shard` of @openshard/model on a `Backend` of @openshard/tensor. */
export class KernelExecutor implements TaskExecutor {
  private shard: Shard | null = null;

  constructor(readonly backend: Backend) {}

  async load(config: GptConfig, spec: ShardSpec, weights: readonly WireTensor[]): Promise<void> {
    const values = new Map(weights.map((t) => [t.name, t.data as Float32Array]));
    this.dispose();
    this.shard = Shard.fromValues(this.backend, config, spec, (p) => {
      const v = values.get(p.name);
      if (!v) throw new Error(`weights lack '${p.name}'`);
      return v;
    });
  }

  async execute(task: TaskToExecute, inputs: readonly WireTensor[]): Promise<TaskOutput> {
    if (!this.shard) throw new Error(`a ${task.kind} task arrived before any weights were loaded`);
    return executeTask(this.shard, task.kind, inputs, task.lossScale);
  }

  async deviceLost(error: unknown): Promise<boolean> {
    if (error instanceof DeviceLostError || this.backend.lost) return true;
    if (this.backend.name === 'cpu') return false;
    // the device's loss is reported asynchronously: the first error after it may be another
    await new Promise((r) => setTimeout(r, LOSS_REPORT_MS));
    return this.backend.lost;
  }

  dispose(): void {
    // on a lost device the shard's buffers died with it: nothing to free
    if (!this.backend.lost) this.shard?.dispose();
    this.shard = null;
  }
}
