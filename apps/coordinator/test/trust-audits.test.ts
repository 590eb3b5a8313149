import { describe, expect, test } from 'vitest';
import type { TaskKey } from '../src/training/round-plan.ts';
import type { TaskResult } from '../src/training/training-run.ts';
import { type Audit, AuditQueue, type Author } from '../src/trust/audits.ts';

/** How long an auditor has for its re-execution in these tests (ms). */
const DEADLINE_MS = 1_000;
/** How long an unassigned audit waits for an auditor before the coordinator runs it itself (ms). */
const WAIT_MS = 5_000;

const B = (shard: number, microBatch: number): TaskKey => ({ kind: 'backward', shard, microBatch });

/** A volunteer's connection; its identity is its wallet when given, else the connection itself. */
function author(volunteerId: string, identity = `connection:${volunteerId}`): Author {
  return { volunteerId, identity, name: `volunteer ${volunteerId}` };
}

/** A volunteer holding `shard`, as the coordinator offers it to `assign` and `overdue`. */
function volunteer(volunteerId: string, shard: number, identity?: string): Author & { shard: number } {
  return { ...author(volunteerId, identity), shard };
}

const result: TaskResult = { tensors: [{ name: 'w', dtype: 'f32', shape: [2], data: new Float32Array([0.5, -0.25]) }] };

/** Opens an audit of backward task (shard, microBatch) of round 7, computed by `origin`. */
function open(q: AuditQueue, shard: number, microBatch: number, origin: Author, now = 0): Audit {
  return q.add(B(shard, microBatch), `r7/backward/s${shard}/m${microBatch}`, 7, origin, result, null, now);
}

const fixedDeadline = () => DEADLINE_MS;

describe('AuditQueue: assign', () => {
  test('behavior: an audit records its task, round, origin and result, and waits unassigned', () => {
    const q = new AuditQueue();
    const origin = author('v1', '0xa');
    const a = open(q, 1, 2, origin, 100);
    expect(a).toMatchObject({ task: B(1, 2), taskId: 'r7/backward/s1/m2', round: 7, origin, result, openedAt: 100, auditor: null });
    expect(a.id).toMatch(/^A/);
    expect(q.get(a.id)).toBe(a);
    expect(q.size).toBe(1);
  });

  test('behavior: the deadline is asked per auditor (the coordinator counts the leases an audit waits behind)', () => {
    const q = new AuditQueue();
    const a = open(q, 1, 0, author('v1'));
    const ahead = { ...volunteer('v2', 1), ahead: 2 };
    q.assign([ahead], 100, (_, v) => (1 + v.ahead) * DEADLINE_MS);
    expect(a.auditor?.deadline).toBe(100 + 3 * DEADLINE_MS);
  });

  test('behavior: the first answer of its auditor is claimed, once; nobody else, and no answer to an unassigned or decided audit, claims it', () => {
    const q = new AuditQueue();
    const a = open(q, 1, 0, author('v1'));
    expect(q.claimAnswer('v2', a.id)).toBe(false);
    q.assign([volunteer('v2', 1)], 0, fixedDeadline);
    expect(q.claimAnswer('v3', a.id)).toBe(false);
    expect(q.claimAnswer('v2', a.id)).toBe(true);
    expect(q.claimAnswer('v2', a.id)).toBe(false);
    q.close(a);
    expect(q.claimAnswer('v2', a.id)).toBe(false);
  });

  test('behavior: audit ids are distinct, also after the queue is cleared', () => {
    const q = new AuditQueue();
    const first = [open(q, 0, 0, author('v1')), open(q, 0, 1, author('v1'))];
    q.clear();
    const later = open(q, 0, 0, author('v1'));
    expect(new Set([...first, later].map((a) => a.id)).size).toBe(3);
  });

  test('behavior: an audit is never assigned to the connection that computed the result', () => {
    const q = new AuditQueue();
    const a = open(q, 0, 0, author('v1'));
    expect(q.assign([volunteer('v1', 0)], 10, fixedDeadline)).toEqual([]);
    expect(a.auditor).toBeNull();
  });

  test('behavior: an audit is never assigned to another connection of the same identity', () => {
    const q = new AuditQueue();
    const a = open(q, 0, 0, author('v1', '0xa'));
    expect(q.assign([volunteer('v2', 0, '0xa'), volunteer('v3', 0, '0xa')], 10, fixedDeadline)).toEqual([]);
    expect(a.auditor).toBeNull();
    expect(q.assign([volunteer('v2', 0, '0xa'), volunteer('v4', 0, '0xb')], 10, fixedDeadline)).toEqual([a]);
    expect(a.auditor).toMatchObject({ volunteerId: 'v4', identity: '0xb' });
  });

  test('behavior: an audit goes only to a volunteer of the same shard', () => {
    const q = new AuditQueue();
    const a = open(q, 2, 0, author('v1'));
    expect(q.assign([volunteer('v2', 0), volunteer('v3', 1)], 10, fixedDeadline)).toEqual([]);
    expect(q.assign([volunteer('v2', 0), volunteer('v4', 2)], 10, fixedDeadline)).toEqual([a]);
    expect(a.auditor?.volunteerId).toBe('v4');
  });

  test('behavior: the auditor is recorded with the time it was issued and a deadline from deadlineMs(audit)', () => {
    const q = new AuditQueue();
    const a = open(q, 0, 3, author('v1'));
    const asked: Audit[] = [];
    q.assign([volunteer('v2', 0, '0xb')], 500, (x) => {
      asked.push(x);
      return 250;
    });
    expect(asked).toEqual([a]);
    expect(a.auditor).toEqual({ volunteerId: 'v2', identity: '0xb', name: 'volunteer v2', issuedAt: 500, deadline: 750 });
  });

  test('behavior: each idle volunteer gets at most one audit per call', () => {
    const q = new AuditQueue();
    const audits = [0, 1, 2].map((m) => open(q, 0, m, author('v1')));
    const given = q.assign([volunteer('v2', 0), volunteer('v3', 0)], 10, fixedDeadline);
    expect(given).toEqual(audits.slice(0, 2));
    expect(given.map((a) => a.auditor?.volunteerId)).toEqual(['v2', 'v3']);
    expect(audits[2].auditor).toBeNull();
  });

  test('behavior: an audit that has an auditor is not handed out again', () => {
    const q = new AuditQueue();
    const a = open(q, 0, 0, author('v1'));
    q.assign([volunteer('v2', 0)], 10, fixedDeadline);
    expect(q.assign([volunteer('v3', 0)], 20, fixedDeadline)).toEqual([]);
    expect(a.auditor).toMatchObject({ volunteerId: 'v2', issuedAt: 10 });
  });

  test('behavior: oldest first: with one auditor free, the audit opened first is handed out', () => {
    const q = new AuditQueue();
    const older = open(q, 0, 5, author('v1'), 100);
    const newer = open(q, 0, 1, author('v1'), 200);
    expect(q.assign([volunteer('v2', 0)], 300, fixedDeadline)).toEqual([older]);
    expect(q.assign([volunteer('v3', 0)], 300, fixedDeadline)).toEqual([newer]);
  });

  test('behavior: an audit skipped for lack of an eligible auditor does not hold back later ones', () => {
    const q = new AuditQueue();
    const byV2 = open(q, 0, 0, author('v2'));
    const byV1 = open(q, 0, 1, author('v1'));
    expect(q.assign([volunteer('v2', 0)], 10, fixedDeadline)).toEqual([byV1]);
    expect(byV2.auditor).toBeNull();
  });

  test('behavior: audits of several shards go to volunteers of their own shard in the same call', () => {
    const q = new AuditQueue();
    const s0 = open(q, 0, 0, author('v1'));
    const s1 = open(q, 1, 0, author('v2'));
    const given = q.assign([volunteer('v3', 1), volunteer('v4', 0)], 10, fixedDeadline);
    expect(given).toEqual([s0, s1]);
    expect(s0.auditor?.volunteerId).toBe('v4');
    expect(s1.auditor?.volunteerId).toBe('v3');
  });
});

describe('AuditQueue: overdue', () => {
  test('behavior: an unassigned audit is overdue at once when no eligible volunteer of its shard is connected', () => {
    const q = new AuditQueue();
    const a = open(q, 1, 0, author('v1', '0xa'), 0);
    expect(q.overdue([], 1, WAIT_MS)).toEqual([a]);
    // connected, but: its author, another connection of its identity, another shard
    expect(q.overdue([volunteer('v1', 1, '0xa'), volunteer('v2', 1, '0xa'), volunteer('v3', 0)], 1, WAIT_MS)).toEqual([a]);
  });

  test('behavior: an unassigned audit with an eligible volunteer connected waits until waitMs has elapsed', () => {
    const q = new AuditQueue();
    const a = open(q, 1, 0, author('v1'), 1_000);
    const connected = [volunteer('v2', 1)];
    expect(q.overdue(connected, 1_000, WAIT_MS)).toEqual([]);
    expect(q.overdue(connected, 1_000 + WAIT_MS - 1, WAIT_MS)).toEqual([]);
    expect(q.overdue(connected, 1_000 + WAIT_MS, WAIT_MS)).toEqual([a]);
  });

  test('behavior: an assigned audit is overdue from its deadline on, and not before, whoever is connected', () => {
    const q = new AuditQueue();
    const a = open(q, 0, 0, author('v1'), 0);
    q.assign([volunteer('v2', 0)], 100, fixedDeadline);
    // its wait has long elapsed and nobody else could take it, but its auditor still has time
    expect(q.overdue([], 100 + DEADLINE_MS - 1, 10)).toEqual([]);
    expect(q.overdue([], 100 + DEADLINE_MS, 10)).toEqual([a]);
    expect(q.overdue([volunteer('v3', 0)], 100 + DEADLINE_MS + 1, WAIT_MS)).toEqual([a]);
  });

  test('behavior: overdue() picks out only the overdue audits and changes nothing', () => {
    const q = new AuditQueue();
    const late = open(q, 0, 0, author('v1'), 0);
    const assigned = open(q, 0, 1, author('v1'), 0);
    const orphan = open(q, 1, 0, author('v1'), 3_000);
    const waiting = open(q, 0, 2, author('v1'), 3_000);
    const lateAuditor = q.assign([volunteer('v2', 0)], 0, () => 500);
    const onTime = q.assign([volunteer('v3', 0)], 0, () => 10_000);
    expect([lateAuditor, onTime]).toEqual([[late], [assigned]]);
    const connected = [volunteer('v4', 0)];
    expect(q.overdue(connected, 4_000, WAIT_MS)).toEqual([late, orphan]);
    expect(q.size).toBe(4);
    expect(waiting.auditor).toBeNull();
    expect(orphan.auditor).toBeNull();
  });
});

describe('AuditQueue: unassign, close, clear, assignedTo', () => {
  test('behavior: assignedTo() lists the audits assigned to a volunteer now', () => {
    const q = new AuditQueue();
    const a = open(q, 0, 0, author('v1'));
    const b = open(q, 1, 0, author('v1'));
    open(q, 0, 1, author('v1'));
    q.assign([volunteer('v2', 0), volunteer('v3', 1)], 10, fixedDeadline);
    expect(q.assignedTo('v2')).toEqual([a]);
    expect(q.assignedTo('v3')).toEqual([b]);
    expect(q.assignedTo('v1')).toEqual([]);
    expect(q.assignedTo('nobody')).toEqual([]);
  });

  test("behavior: unassign() puts a volunteer's audits back for another auditor and returns them", () => {
    const q = new AuditQueue();
    const a = open(q, 0, 0, author('v1'));
    const other = open(q, 0, 1, author('v1'));
    q.assign([volunteer('v2', 0), volunteer('v3', 0)], 10, fixedDeadline);
    expect(q.unassign('v2')).toEqual([a]);
    expect(a.auditor).toBeNull();
    expect(q.assignedTo('v2')).toEqual([]);
    expect(other.auditor?.volunteerId).toBe('v3');
    expect(q.size).toBe(2);
    expect(q.assign([volunteer('v4', 0)], 20, fixedDeadline)).toEqual([a]);
    expect(a.auditor).toMatchObject({ volunteerId: 'v4', issuedAt: 20, deadline: 20 + DEADLINE_MS });
    expect(q.unassign('nobody')).toEqual([]);
  });

  test("behavior: an unassigned audit is no longer overdue by its old auditor's deadline, only by its wait", () => {
    const q = new AuditQueue();
    const a = open(q, 0, 0, author('v1'), 0);
    q.assign([volunteer('v2', 0)], 0, fixedDeadline);
    q.unassign('v2');
    expect(q.overdue([volunteer('v3', 0)], DEADLINE_MS, WAIT_MS)).toEqual([]);
    expect(q.overdue([volunteer('v3', 0)], WAIT_MS, WAIT_MS)).toEqual([a]);
  });

  test('behavior: close() removes an audit: it is neither handed out nor overdue again', () => {
    const q = new AuditQueue();
    const a = open(q, 0, 0, author('v1'), 0);
    const b = open(q, 0, 1, author('v1'), 0);
    q.assign([volunteer('v2', 0)], 0, fixedDeadline);
    q.close(a);
    expect(q.get(a.id)).toBeUndefined();
    expect(q.size).toBe(1);
    expect(q.assignedTo('v2')).toEqual([]);
    expect(q.overdue([], 100_000, WAIT_MS)).toEqual([b]);
    expect(q.assign([volunteer('v3', 0)], 0, fixedDeadline)).toEqual([b]);
    q.close(a); // closing twice is harmless
    expect(q.isGone(a.id)).toBe(true);
    expect(q.size).toBe(1);
  });

  test('behavior: clear() returns every audit and empties the queue; each counts as gone (a late answer is no lie)', () => {
    const q = new AuditQueue();
    const assigned = open(q, 0, 0, author('v1'));
    const waiting = open(q, 1, 0, author('v1'));
    q.assign([volunteer('v2', 0)], 10, fixedDeadline);
    expect(q.clear()).toEqual([assigned, waiting]);
    expect(q.size).toBe(0);
    expect(q.get(assigned.id)).toBeUndefined();
    expect(q.assignedTo('v2')).toEqual([]);
    expect(q.overdue([], 100_000, WAIT_MS)).toEqual([]);
    expect(q.assign([volunteer('v3', 0), volunteer('v4', 1)], 20, fixedDeadline)).toEqual([]);
    expect(q.isGone(assigned.id)).toBe(true);
    expect(q.isGone(waiting.id)).toBe(true);
    expect(q.isGone('A999')).toBe(false);
    expect(q.clear()).toEqual([]);
  });
});
