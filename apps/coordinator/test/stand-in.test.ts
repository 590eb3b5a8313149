import { encode } from '@openshard/data';
import { DEFAULT_OPTIMIZER, Shard, type GptConfig } from '@openshard/model';
import { PROTOCOL_VERSION, type ServerMessage } from '@openshard/protocol';
import { CpuBackend } from '@openshard/tensor';
import { executeTask } from '@openshard/volunteer';
import { describe, expect, test } from 'vitest';
import { Coordinator, type Effect } from '../src/coordinator.ts';
import { LeaseScheduler } from '../src/scheduler/leases.ts';
import type { TaskRecord } from '../src/store/stores.ts';
import { STAND_IN_NAME, StandIn } from '../src/training/stand-in.ts';
import { TrainingRun, type RoundSummary } from '../src/training/training-run.ts';

const CONFIG: GptConfig = { vocabSize: 256, contextLength: 8, layers: 2, heads: 2, width: 8 };
const GRACE_MS = 1_000;

interface Closed {
  summary: RoundSummary;
  tasks: TaskRecord[];
}

/** A run of `rounds` rounds on `shards` shards (2 layers each); the test's clock decides when volunteers answer. */
function network(standIn: StandIn | null, rounds = 5, shards = 2) {
  const config = { ...CONFIG, layers: 2 * shards };
  const run = new TrainingRun(new CpuBackend(), encode('some text to sample from. '.repeat(20)), { config, shards, batch: 1, microBatches: 2, seed: 1, optimizer: DEFAULT_OPTIMIZER });
  const closed: Closed[] = [];
  const notices: string[] = [];
  const events = { roundClosed: (summary: RoundSummary, tasks: TaskRecord[]) => void closed.push({ summary, tasks }), notice: (_: string, text: string) => void notices.push(text) };
  const c = new Coordinator(run, new LeaseScheduler(), 'run', events, rounds, null, null, undefined, standIn);
  return { c, closed, notices };
}

/** A message to a volunteer (not an order to drop it). */
type Sent = Extract<Effect, { message: unknown }>;

/**
 * Honest volunteers: each keeps the latest weights it was sent and answers the tasks it got by
 * the next `work` (one turn of the test's clock), so a round takes several ticks.
 */
class Volunteers {
  private readonly shards = new Map<string, Shard>();
  private pending: Sent[] = [];
  constructor(private readonly c: Coordinator) {}

  async deliver(effects: Effect[], now: number): Promise<void> {
    for (const e of effects) {
      if (e.type === 'weights') {
        const m = e.message as ServerMessage<'weights'>;
        const values = new Map(e.tensors!.map((t) => [t.name, t.data as Float32Array]));
        this.shards.set(
          e.to,
          Shard.fromValues(new CpuBackend(), this.c.run.options.config, this.c.run.specs[m.shard.index], (p) => values.get(p.name)!),
        );
        await this.deliver(this.c.ready(e.to, { shard: m.shard.index, version: m.version }, now), now);
      } else if (e.type === 'task' && 'message' in e) this.pending.push(e);
    }
  }

  /** Every task received so far, answered. */
  async work(now: number): Promise<void> {
    const tasks = this.pending;
    this.pending = [];
    for (const e of tasks) {
      const m = e.message as ServerMessage<'task'>;
      const out = await executeTask(this.shards.get(e.to)!, m.kind, e.tensors!, m.lossScale);
      await this.deliver(await this.c.result(e.to, { leaseId: m.leaseId, computeMs: 1, loss: out.loss, tensors: [] }, out.tensors, now), now);
    }
  }

  /** The volunteer pauses and gives back the tasks it has not run. */
  async pause(id: string, now: number): Promise<void> {
    const mine = this.pending.filter((e) => e.to === id);
    this.pending = this.pending.filter((e) => e.to !== id);
    await this.deliver(this.c.availability(id, { accepting: false, reason: 'paused' }, now), now);
    for (const e of mine) await this.deliver(this.c.giveBack(id, { leaseId: (e.message as ServerMessage<'task'>).leaseId, reason: 'paused' }, now), now);
  }
}

const hello = (name: string) => ({ protocol: PROTOCOL_VERSION, name, backend: 'cpu' as const });

/** Ticks the coordinator (100 ms apart) until `rounds` rounds have closed or `maxTicks` passed. */
async function tickUntil(c: Coordinator, v: Volunteers, closed: Closed[], rounds: number, from: number, maxTicks = 200): Promise<number> {
  let now = from;
  for (let i = 0; i < maxTicks && closed.length < rounds; i++) {
    now += 100;
    await v.deliver(await c.tick(now), now);
    await v.work(now);
  }
  return now;
}

describe('StandIn: which shards the coordinator computes', () => {
  test('behavior: a shard no accepting volunteer holds is computed after the grace period, and only while someone trains', () => {
    const s = new StandIn({ graceMs: GRACE_MS, turnMs: 50 });
    expect(s.shards(4, [], 0)).toEqual([]);
    expect(s.shards(4, [], 5_000)).toEqual([]); // nobody trains: nothing to keep going
    expect(s.shards(4, [{ shard: 0, accepting: true }], 5_000)).toEqual([1, 2, 3]); // uncovered since 0
    expect(
      s.shards(
        4,
        [
          { shard: 0, accepting: true },
          { shard: 2, accepting: false },
        ],
        5_500,
      ),
    ).toEqual([1, 2, 3]);
    expect(
      s.shards(
        4,
        [
          { shard: 0, accepting: true },
          { shard: 2, accepting: true },
        ],
        5_600,
      ),
    ).toEqual([1, 3]); // a holder resumed: at once
    expect(
      s.shards(
        4,
        [
          { shard: 0, accepting: true },
          { shard: 2, accepting: false },
        ],
        6_000,
      ),
    ).toEqual([1, 3]); // paused again: a new grace period
    expect(
      s.shards(
        4,
        [
          { shard: 0, accepting: true },
          { shard: 2, accepting: false },
        ],
        7_000,
      ),
    ).toEqual([1, 2, 3]);
  });
});

describe('StandIn: what the dashboard is told', () => {
  test('behavior: a notice when the computed shards change, saying why it stops; nothing when they do not', () => {
    const s = new StandIn();
    expect(s.announcements([1, 2], true)).toEqual(['the coordinator computes shards 1, 2, which no training volunteer holds; this work earns nothing']);
    expect(s.announcements([1, 2], true)).toEqual([]);
    expect(s.announcements([2], true)).toEqual(['the coordinator stops computing shard 1: a volunteer trains it again']);
    expect(s.announcements([], false)).toEqual(['the coordinator stops computing shard 2: no volunteer trains at all: the run waits for one']);
    expect(s.computing).toEqual([]);
  });
});

describe('Coordinator standing in for a shard nobody trains', () => {
  test('behavior: one volunteer on a 2-shard run: rounds close, the losses equal two volunteers training, and the stand-in earns nothing', async () => {
    const alone = network(new StandIn({ graceMs: GRACE_MS, turnMs: 1_000 }));
    const va = new Volunteers(alone.c);
    await va.deliver(await alone.c.hello('a', hello('a'), 0), 0);
    expect(alone.closed).toHaveLength(0);
    await tickUntil(alone.c, va, alone.closed, 5, 0);
    expect(alone.closed).toHaveLength(5);
    expect(alone.notices.some((n) => /the coordinator computes shard 1, which no training volunteer holds; this work earns nothing/.test(n))).toBe(true);

    const pair = network(null);
    const vp = new Volunteers(pair.c);
    await vp.deliver(await pair.c.hello('a', hello('a'), 0), 0);
    await vp.deliver(await pair.c.hello('b', hello('b'), 0), 0);
    await tickUntil(pair.c, vp, pair.closed, 5, 0);
    expect(alone.closed.map((r) => r.summary.loss)).toEqual(pair.closed.map((r) => r.summary.loss));

    const tasks = alone.closed.flatMap((r) => r.tasks);
    const byStandIn = tasks.filter((t) => t.volunteer === STAND_IN_NAME);
    expect(byStandIn.length).toBeGreaterThan(0);
    expect(byStandIn.every((t) => t.shard === 1 && t.address === null)).toBe(true);
    expect(tasks.filter((t) => t.volunteer === 'a').every((t) => t.shard === 0)).toBe(true);
    expect(alone.c.standIn!.counts.tasks).toBe(byStandIn.length);
  });

  test('behavior: one volunteer on a 4-shard run: the coordinator computes all three other shards, every task it leases in the same turn, and no lease expires', async () => {
    const { c, closed, notices } = network(new StandIn({ graceMs: GRACE_MS, turnMs: 1_000 }), 3, 4);
    const v = new Volunteers(c);
    await v.deliver(await c.hello('a', hello('a'), 0), 0);
    const shard = c.volunteers.get('a')!.shard;
    // 4 s of the test's clock; a lease the stand-in took and left alone would wait out its deadline (≥ 5 s) each time
    await tickUntil(c, v, closed, 3, 0, 40);
    expect(closed).toHaveLength(3);
    expect(notices.filter((n) => /expired|re-issued/.test(n))).toEqual([]);
    const byStandIn = closed.flatMap((r) => r.tasks).filter((t) => t.volunteer === STAND_IN_NAME);
    expect(new Set(byStandIn.map((t) => t.shard))).toEqual(new Set([0, 1, 2, 3].filter((s) => s !== shard)));
  });

  test('behavior: when the last holder of a shard leaves, the coordinator computes it, and says it stops when nobody trains at all', async () => {
    const { c, closed, notices } = network(new StandIn({ graceMs: GRACE_MS, turnMs: 1_000 }), 6);
    const v = new Volunteers(c);
    await v.deliver(await c.hello('a', hello('a'), 0), 0);
    await v.deliver(await c.hello('b', hello('b'), 0), 0);
    let now = await tickUntil(c, v, closed, 1, 0);
    const leaving = [...c.volunteers.values()].find((x) => x.shard === 1)!.id;
    await v.deliver(await c.disconnect(leaving, now), now);
    now = await tickUntil(c, v, closed, 3, now);
    expect(closed).toHaveLength(3);
    expect(
      closed
        .slice(1)
        .flatMap((r) => r.tasks)
        .some((t) => t.volunteer === STAND_IN_NAME && t.shard === 1),
    ).toBe(true);
    const staying = [...c.volunteers.keys()][0];
    await v.pause(staying, now);
    await tickUntil(c, v, closed, 4, now, 30);
    expect(closed).toHaveLength(3); // nobody trains: the coordinator alone is not a network
    expect(notices).toContain('the coordinator stops computing shard 1: no volunteer trains at all: the run waits for one');
  });

  test('behavior: without a stand-in the same network waits: no round closes', async () => {
    const { c, closed } = network(null);
    const v = new Volunteers(c);
    await v.deliver(await c.hello('a', hello('a'), 0), 0);
    await tickUntil(c, v, closed, 1, 0, 50);
    expect(closed).toHaveLength(0);
  });

  test('behavior: when the only holder of a shard pauses, the coordinator takes its shard over after the grace period, and hands it back when it resumes', async () => {
    const { c, closed, notices } = network(new StandIn({ graceMs: GRACE_MS, turnMs: 1_000 }), 6);
    const v = new Volunteers(c);
    await v.deliver(await c.hello('a', hello('a'), 0), 0);
    await v.deliver(await c.hello('b', hello('b'), 0), 0);
    let now = await tickUntil(c, v, closed, 1, 0);
    expect(closed[0].tasks.some((t) => t.volunteer === STAND_IN_NAME)).toBe(false);
    const paused = [...c.volunteers.values()].find((x) => x.shard === 1)!.id;
    await v.pause(paused, now);
    now = await tickUntil(c, v, closed, 3, now);
    expect(closed).toHaveLength(3);
    expect(
      closed
        .slice(1)
        .flatMap((r) => r.tasks)
        .some((t) => t.volunteer === STAND_IN_NAME && t.shard === 1),
    ).toBe(true);
    await v.deliver(c.availability(paused, { accepting: true, reason: 'resumed' }, now), now);
    now = await tickUntil(c, v, closed, 6, now);
    expect(closed).toHaveLength(6);
    expect(closed[5].tasks.some((t) => t.volunteer === STAND_IN_NAME)).toBe(false);
    expect(notices.some((n) => /the coordinator stops computing shard 1: a volunteer trains it again/.test(n))).toBe(true);
  });

  test('behavior: a newcomer takes the shard whose only holder is paused', async () => {
    const { c } = network(new StandIn());
    await c.hello('a', hello('a'), 0);
    await c.hello('b', hello('b'), 0);
    const pausedShard = c.volunteers.get('a')!.shard;
    c.availability('a', { accepting: false, reason: 'paused' }, 1);
    await c.hello('c', hello('c'), 2);
    expect(c.volunteers.get('c')!.shard).toBe(pausedShard);
  });
});
