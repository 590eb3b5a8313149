import type { TaskRecord } from '../store/stores.ts';
import type { RoundSummary } from '../training/training-run.ts';

/** A round that has just closed, as every after-round step sees it. */
export interface ClosedRound {
  summary: RoundSummary;
  /** Its accepted tasks, committed with it. */
  tasks: TaskRecord[];
  /** Rounds completed: the next round's index, and the version of the weights it starts from. */
  completed: number;
  /** The run's last round has closed. */
  last: boolean;
  /** Unix ms. */
  at: number;
}

/**
 * One thing that happens after every round closes (persist, broadcast, validate, checkpoint,
 * publish an epoch…). Steps run in list order, each awaited before the next, before the next
 * round's tasks are leased: a step that must not hold up training queues its work elsewhere.
 */
export interface AfterRoundStep {
  readonly name: string;
  run(r: ClosedRound): void | Promise<void>;
}

export async function runAfterRound(steps: readonly AfterRoundStep[], r: ClosedRound): Promise<void> {
  for (const step of steps) {
    try {
      await step.run(r);
    } catch (e) {
      throw new Error(`after round ${r.summary.round}, step '${step.name}' failed: ${(e as Error).message}`, { cause: e });
    }
  }
}

/** Whether a step that happens every `every` rounds (and after the last) is due. */
export function due(every: number, r: ClosedRound): boolean {
  return r.completed % every === 0 || r.last;
}
