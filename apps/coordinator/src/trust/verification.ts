import { TRAFFIC, type Traffic } from '@openshard/protocol';
import type { TaskResult, TrainingRun } from '../training/training-run.ts';
import { AuditQueue, type Audit, type Author } from './audits.ts';
import { compareResults, type Agreement } from './compare.ts';
import { TrustBook, type TrustPolicy } from './trust-book.ts';

/**
 * The coordinator's means of checking work: who is trusted how far (`book`), the audits not yet
 * settled (`audits`), how two results are compared, and the coordinator's own re-execution of a
 * task, which decides whenever two volunteers disagree or nobody else can audit.
 */
export class Verification {
  readonly book: TrustBook;
  readonly audits = new AuditQueue();
  /** Since start-up: audits opened, agreements between two volunteers, tasks the coordinator re-executed, identities banned. */
  readonly counts = { audits: 0, agreed: 0, reexecuted: 0, banned: 0 };

  constructor(
    readonly policy: TrustPolicy,
    banned: Iterable<string> = [],
    random: () => number = Math.random,
    /** Compact traffic sends boundary tensors and gradient sums in q8: they are compared level by level. */
    private readonly traffic: Traffic = 'exact',
  ) {
    this.book = new TrustBook(policy, banned, random);
  }

  compare(result: TaskResult, reference: TaskResult): Agreement {
    const rounded = TRAFFIC[this.traffic].activations === 'q8';
    return compareResults(result, reference, this.policy.tolerance, (name) => rounded && (name === 'y' || name === 'dx'));
  }

  /** A volunteer's gradient sum against the coordinator's own (unrounded) one. */
  compareSums(sum: TaskResult, reference: TaskResult): Agreement {
    const rounded = TRAFFIC[this.traffic].gradients === 'q8';
    return compareResults(sum, reference, this.policy.tolerance, () => rounded);
  }

  /** The audited task run by the coordinator on its copy of the shard (held at the audited version: the shard cannot step while the audit is open). */
  async reexecute(run: TrainingRun, a: Audit): Promise<TaskResult> {
    return run.compute(a.task);
  }

  /** Snapshots to keep: one per round a cheat can still be undone in, and the current one. */
  get snapshotsKept(): number {
    return this.policy.holdingRounds + 1;
  }
}

/** A volunteer's identity for trust and bans: its wallet when signed in, else its connection. */
export function identityOf(v: { id: string; address: string | null }): string {
  return v.address ?? `connection:${v.id}`;
}

export function authorOf(v: { id: string; name: string; address: string | null }): Author {
  return { volunteerId: v.id, identity: identityOf(v), name: v.name };
}
