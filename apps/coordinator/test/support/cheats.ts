import type { GptConfig, ShardSpec } from '@openshard/model';
import type { WireTensor } from '@openshard/protocol';
import type { Backend } from '@openshard/tensor';
import { KernelExecutor, type TaskExecutor, type TaskOutput, type TaskToExecute } from '@openshard/volunteer';

/** The ways a hostile volunteer lies about a task's result (the gallery of issue "Untrusted volunteers"). */
export const CHEATS = ['random', 'zeros', 'scaled', 'nudged', 'wrong-inputs', 'turncoat', 'lying-loss', 'copy'] as const;
export type Cheat = (typeof CHEATS)[number];

/** How far `nudged` moves every value: five times the coordinator's default tolerance, far beyond honest rounding. */
export const NUDGE = 1 + 5e-3;
/** How many tasks a `turncoat` computes honestly before it lies. */
export const TURNCOAT_HONEST_TASKS = 12;

/**
 * A volunteer's executor that lies: it runs our kernels (so its timing looks honest) and then
 * returns something else, or runs them on other inputs.
 */
export class CheatingExecutor implements TaskExecutor {
  private readonly honest: KernelExecutor;
  private tasks = 0;
  private readonly kept = new Map<string, TaskOutput>();
  /** Results sent since it started lying. */
  lies = 0;

  constructor(
    backend: Backend,
    readonly cheat: Cheat,
  ) {
    this.honest = new KernelExecutor(backend);
  }

  load(config: GptConfig, spec: ShardSpec, weights: readonly WireTensor[]): Promise<void> {
    return this.honest.load(config, spec, weights);
  }

  async execute(task: TaskToExecute, inputs: readonly WireTensor[]): Promise<TaskOutput> {
    this.tasks += 1;
    if (this.cheat === 'wrong-inputs') return this.lie(await this.honest.execute(task, inputs.map(perturb)));
    const out = await this.honest.execute(task, inputs);
    switch (this.cheat) {
      case 'random':
        return this.lie({ tensors: out.tensors.map((t) => fill(t, () => Math.random() * 2 - 1)), loss: out.loss === undefined ? undefined : 0.5 });
      case 'zeros':
        return this.lie({ tensors: out.tensors.map((t) => fill(t, () => 0)), loss: out.loss });
      case 'scaled':
        return this.lie({ tensors: out.tensors.map((t) => scale(t, 100)), loss: out.loss });
      case 'nudged':
        return this.lie({ tensors: out.tensors.map((t) => scale(t, NUDGE)), loss: out.loss });
      case 'turncoat':
        if (this.tasks <= TURNCOAT_HONEST_TASKS) return out;
        return this.lie({ tensors: out.tensors.map((t) => fill(t, () => Math.random() * 2 - 1)), loss: out.loss });
      case 'lying-loss':
        // only the last shard reports a loss: elsewhere this volunteer is honest, and harmless
        return out.loss === undefined ? out : this.lie({ tensors: out.tensors, loss: out.loss * 0.5 });
      case 'copy': {
        // the first result of each kind, sent again for every later task of that kind
        const first = this.kept.get(task.kind);
        if (!first) {
          this.kept.set(task.kind, out);
          return out;
        }
        return this.lie(first);
      }
    }
    throw new Error(`unknown cheat ${this.cheat}`);
  }

  deviceLost(error: unknown): Promise<boolean> {
    return this.honest.deviceLost(error);
  }

  dispose(): void {
    this.honest.dispose();
  }

  private lie(out: TaskOutput): TaskOutput {
    this.lies += 1;
    return out;
  }
}

function fill(t: WireTensor, value: () => number): WireTensor {
  return { ...t, data: Float32Array.from({ length: t.data.length }, value) };
}

function scale(t: WireTensor, k: number): WireTensor {
  return { ...t, data: (t.data as Float32Array).map((x) => x * k) };
}

/** Another micro-batch's worth of input: tokens shifted by one, activations reversed. */
function perturb(t: WireTensor): WireTensor {
  if (t.name !== 'x') return t;
  if (t.dtype === 'i32') return { ...t, data: (t.data as Int32Array).map((x) => (x + 1) % 256) };
  return { ...t, data: (t.data as Float32Array).slice().reverse() };
}
