import { describe, expect, test } from 'vitest';
import { chooseShard } from '../src/scheduler/assignment.ts';
import { DEFAULT_POLICY, LeaseScheduler, type TaskLease } from '../src/scheduler/leases.ts';
import { RoundPlan, type TaskKey } from '../src/training/round-plan.ts';

const F = (shard: number, microBatch: number): TaskKey => ({ kind: 'forward', shard, microBatch });
const L = (shard: number, microBatch: number): TaskKey => ({ kind: 'lossAndBackward', shard, microBatch });
const B = (shard: number, microBatch: number): TaskKey => ({ kind: 'backward', shard, microBatch });

describe('RoundPlan', () => {
  test('behavior: forward through the shards, loss on the last, backward down again, per micro-batch', () => {
    const plan = new RoundPlan(4, 3, 2);
    expect(plan.tasks).toHaveLength(10);
    expect(plan.ready()).toEqual([F(0, 0), F(0, 1)]);
    for (const t of [F(0, 0), F(1, 0), L(2, 0)]) plan.complete(t);
    expect(plan.ready()).toEqual([B(1, 0), F(0, 1)]);
    expect(plan.shardComplete(2)).toBe(false);
    for (const t of [F(0, 1), F(1, 1), L(2, 1)]) plan.complete(t);
    expect(plan.shardComplete(2)).toBe(true);
    expect(plan.ready()).toEqual([B(1, 0), B(1, 1)]);
  });

  test('behavior: a shard is complete when its gradient tasks for every micro-batch are done; the round when all are', () => {
    const plan = new RoundPlan(0, 2, 2);
    for (const t of [F(0, 0), F(0, 1), L(1, 1), L(1, 0)]) plan.complete(t);
    expect(plan.shardComplete(1)).toBe(true);
    expect(plan.shardComplete(0)).toBe(false);
    for (const t of [B(0, 1), B(0, 0)]) plan.complete(t);
    expect(plan.shardComplete(0)).toBe(true);
    expect(plan.closed).toBe(true);
    expect(plan.id(B(0, 1))).toBe('r0/backward/s0/m1');
  });

  test('behavior: with one shard, the loss tasks are ready at once', () => {
    expect(new RoundPlan(0, 1, 3).ready()).toEqual([L(0, 0), L(0, 1), L(0, 2)]);
  });

  test('error: completing a task before its input exists is a bug and throws', () => {
    expect(() => new RoundPlan(0, 3, 1).complete(F(1, 0))).toThrow('r0/forward/s1/m0 completed before its input r0/forward/s0/m0');
    expect(() => new RoundPlan(0, 0, 1)).toThrow('shards is 0');
  });
});

describe('LeaseScheduler', () => {
  const policy = { ...DEFAULT_POLICY, minDeadlineMs: 100, initialEstimateMs: 1000, deadlineFactor: 4, backupFactor: 2 };

  function started(S = 2, M = 2) {
    const s = new LeaseScheduler<TaskKey>(policy);
    const plan = new RoundPlan(0, S, M);
    s.startRound(plan);
    /** The next task for one idle volunteer holding `shard`, as the coordinator asks for it. */
    const request = (volunteerId: string, shard: number, now: number) => s.assign([{ id: volunteerId, shard }], now)[0] ?? null;
    /** A result arrives: its standing, and if open, applied by the plan's owner and completed. */
    const submit = (lease: TaskLease<TaskKey>, volunteerId: string, now: number) => {
      const standing = s.standing(lease.id, volunteerId);
      if (standing.kind !== 'open') return { kind: standing.kind, superseded: [] };
      plan.complete(lease.task);
      return { kind: 'accepted', superseded: s.complete(lease.id, now) };
    };
    return { s, plan, request, submit };
  }

  test('behavior: volunteers of a shard get distinct ready tasks with a deadline from the expected time', () => {
    const { request } = started();
    const a = request('a', 0, 0)!;
    const b = request('b', 0, 0)!;
    expect([a.taskId, b.taskId]).toEqual(['r0/forward/s0/m0', 'r0/forward/s0/m1']);
    expect(a.deadline).toBe(4000);
    expect(request('c', 1, 0)).toBeNull(); // shard 1 waits for activations
    expect(request('c', 0, 0)).toBeNull(); // nothing else ready, nobody straggling yet
  });

  test('behavior: a straggler gets a backup copy; the first result wins and the other is a duplicate', () => {
    const { request, submit } = started(2, 1);
    const slow = request('slow', 0, 0)!;
    expect(request('fast', 0, 1999)).toBeNull();
    const backup = request('fast', 0, 2001)!;
    expect(backup).toMatchObject({ taskId: slow.taskId, backup: true });
    expect(request('third', 0, 2002)).toBeNull(); // at most two copies
    const won = submit(backup, 'fast', 2500);
    expect(won.kind).toBe('accepted');
    expect(won.superseded.map((l) => l.id)).toEqual([slow.id]);
    expect(submit(slow, 'slow', 3000).kind).toBe('late');
    expect(submit(backup, 'fast', 3001).kind).toBe('replay');
  });

  test('behavior: an expired or disconnected lease is re-issued, and a late result still counts if it comes first', () => {
    const { s, request, submit } = started(2, 1);
    const first = request('a', 0, 0)!;
    expect(first.deadline).toBe(4000);
    expect(s.expire(3999)).toEqual([]);
    expect(s.expire(4000).map((l) => l.id)).toEqual([first.id]);
    const second = request('b', 0, 4001)!;
    expect(second.taskId).toBe(first.taskId);
    expect(submit(first, 'a', 4100).kind).toBe('accepted');
    expect(submit(second, 'b', 4200).kind).toBe('late');
    const { s: s2, request: request2 } = started(2, 1);
    const gone = request2('a', 0, 0)!;
    expect(s2.leave('a', 1).map((l) => l.id)).toEqual([gone.id]);
    expect(request2('b', 0, 1)!.taskId).toBe(gone.taskId);
  });

  test('behavior: a task given back is re-issued at once', () => {
    const { s, request } = started(2, 1);
    const l = request('a', 0, 0)!;
    expect(s.giveBack(l.id, 'b', 1)).toBeNull();
    expect(s.giveBack(l.id, 'a', 1)?.state).toBe('given-back');
    expect(request('b', 0, 1)?.taskId).toBe(l.taskId);
  });

  test('error: results for leases never given to the sender, or from an earlier round, are told apart', () => {
    const { s, request } = started(2, 1);
    const l = request('a', 0, 0)!;
    expect(s.standing(l.id, 'mallory').kind).toBe('not-leased');
    expect(s.standing('L999', 'a').kind).toBe('not-leased');
    expect(s.standing('nonsense', 'a').kind).toBe('not-leased');
    s.startRound(new RoundPlan(1, 2, 1));
    expect(s.standing(l.id, 'a').kind).toBe('stale');
  });

  test('behavior: asking where a result stands changes nothing; completing a lease before its task is applied throws', () => {
    const { s, plan, request } = started(2, 1);
    const l = request('a', 0, 0)!;
    for (let i = 0; i < 3; i++) expect(s.standing(l.id, 'a')).toEqual({ kind: 'open', lease: l });
    expect(l.state).toBe('active');
    expect(s.busy('a')).toBe(true);
    expect(() => s.complete(l.id, 5)).toThrow(`lease ${l.id} completed before its task ${l.taskId} was applied`);
    plan.complete(l.task);
    expect(s.standing(l.id, 'a').kind).toBe('late');
    expect(s.complete(l.id, 5)).toEqual([]);
    expect(s.standing(l.id, 'a').kind).toBe('replay');
  });

  test('behavior: deadlines follow measured task times, never below the minimum', () => {
    const { s, request, submit } = started(2, 2);
    const l = request('a', 0, 0)!;
    submit(l, 'a', 10);
    expect(s.expectedMs(F(0, 0))).toBe(10);
    expect(request('a', 0, 20)!.deadline).toBe(20 + 100);
  });
});

describe('chooseShard', () => {
  test('behavior: every shard is served first, then the most loaded relative to its throughput', () => {
    const work = [100, 100, 150];
    expect(chooseShard(work, [])).toBe(0);
    expect(chooseShard(work, [{ shard: 0, throughput: null }])).toBe(1);
    expect(
      chooseShard(work, [
        { shard: 0, throughput: 1 },
        { shard: 1, throughput: 1 },
      ]),
    ).toBe(2);
    expect(
      chooseShard(work, [
        { shard: 0, throughput: 1 },
        { shard: 1, throughput: 1 },
        { shard: 2, throughput: 1 },
      ]),
    ).toBe(2);
    // a fast volunteer on shard 2 makes shard 0 or 1 the bottleneck
    expect(
      chooseShard(work, [
        { shard: 0, throughput: 1 },
        { shard: 1, throughput: 2 },
        { shard: 2, throughput: 5 },
      ]),
    ).toBe(0);
  });
});
