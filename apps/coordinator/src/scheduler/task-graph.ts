/** A unit of work a volunteer holding `shard` can run; `kind` names what it computes. */
export interface ScheduledTask {
  kind: string;
  shard: number;
}

/**
 * What the scheduler reads of a set of dependent tasks: a training round's plan today, an
 * inference request's stages later. The graph's owner completes tasks; the scheduler never
 * writes to it, so there is one owner of what is done.
 */
export interface TaskGraph<T extends ScheduledTask> {
  /** The round the graph's tasks belong to; leases of an earlier round are stale. */
  readonly round: number;
  /** A stable name for the task, unique within the graph. */
  id(t: T): string;
  /** Tasks not done whose inputs exist, in the order they should be issued. */
  ready(): readonly T[];
  isDone(t: T): boolean;
}
