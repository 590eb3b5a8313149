import { encode } from '@openshard/data';
import { DEFAULT_OPTIMIZER, Shard, type GptConfig } from '@openshard/model';
import { PROTOCOL_VERSION, type ServerMessage } from '@openshard/protocol';
import { executeTask } from '@openshard/volunteer';
import { CpuBackend } from '@openshard/tensor';
import { describe, expect, test } from 'vitest';
import { Coordinator, type CoordinatorEvents, type Effect } from '../src/coordinator.ts';
import { LeaseScheduler } from '../src/scheduler/leases.ts';
import { TrainingRun } from '../src/training/training-run.ts';

const CONFIG: GptConfig = { vocabSize: 256, contextLength: 8, layers: 2, heads: 2, width: 8 };

function coordinator(shards = 2, events: CoordinatorEvents = {}): Coordinator {
  const run = new TrainingRun(new CpuBackend(), encode('some text to sample from. '.repeat(20)), {
    config: CONFIG,
    shards,
    batch: 1,
    microBatches: 2,
    seed: 1,
    optimizer: DEFAULT_OPTIMIZER,
  });
  return new Coordinator(run, new LeaseScheduler(), 'run', events);
}

/** Runs the task a 'task' effect carries on a shard built from a 'weights' effect, as a volunteer would. */
async function perform(c: Coordinator, weights: Effect, task: Effect) {
  if (weights.type !== 'weights' || task.type !== 'task') throw new Error(`expected weights and a task, got ${weights.type} and ${task.type}`);
  const values = new Map(weights.tensors!.map((t) => [t.name, t.data as Float32Array]));
  const shard = Shard.fromValues(new CpuBackend(), CONFIG, c.run.specs[(weights.message as ServerMessage<'weights'>).shard.index], (p) => values.get(p.name)!);
  const m = task.message as ServerMessage<'task'>;
  const out = await executeTask(shard, m.kind, task.tensors!, m.lossScale);
  return { result: { leaseId: m.leaseId, computeMs: 5, loss: out.loss, tensors: [] }, tensors: out.tensors };
}

const hello = (name: string) => ({ protocol: PROTOCOL_VERSION, name, backend: 'cpu' as const });
const types = (effects: Effect[]) => effects.map((e) => `${e.to}:${e.type}`);

describe('Coordinator (no sockets)', () => {
  test("behavior: a newcomer gets the shard nobody holds, only that shard's weights, and once ready a task to run and the next queued behind it", async () => {
    const c = coordinator();
    expect(types(await c.hello('a', hello('a'), 0))).toEqual(['a:welcome', 'a:weights']);
    const b = await c.hello('b', hello('b'), 0);
    const weights = b.find((e) => e.type === 'weights')!;
    expect(weights.type === 'weights' && 'message' in weights && (weights.message as { shard: { index: number } }).shard.index).toBe(1);
    expect(types(c.ready('a', { shard: 0, version: 0 }, 1))).toEqual(['a:task', 'a:task']);
    expect(c.maxExposure()).toBeLessThan(0.7);
  });

  test('behavior: when the last holder of a shard leaves, an idle volunteer of a crowded shard moves to it', async () => {
    const c = coordinator();
    for (const id of ['a', 'b', 'c']) await c.hello(id, hello(id), 0);
    const shardOf = () => [...c.volunteers.values()].map((v) => v.shard);
    const lonely = [0, 1].find((s) => shardOf().filter((x) => x === s).length === 1)!;
    const crowded = 1 - lonely;
    const leaving = [...c.volunteers.values()].find((v) => v.shard === lonely)!.id;
    const effects = await c.disconnect(leaving, 5);
    expect(effects.filter((e) => e.type === 'weights')).toHaveLength(1);
    expect(shardOf().sort()).toEqual([0, 1]);
    expect(shardOf()).toContain(crowded);
  });

  test("error: a replayed result is refused as a duplicate and earns nothing; a result for another volunteer's lease as not leased", async () => {
    const c = coordinator(1);
    const [, weights] = await c.hello('a', hello('a'), 0);
    await c.hello('b', hello('b'), 0);
    if (weights.type !== 'weights') throw new Error('expected weights');
    const values = new Map(weights.tensors!.map((t) => [t.name, t.data as Float32Array]));
    const shard = Shard.fromValues(new CpuBackend(), CONFIG, c.run.specs[0], (p) => values.get(p.name)!);
    const [task] = c.ready('a', { shard: 0, version: 0 }, 1);
    if (task.type !== 'task') throw new Error('expected a task');
    const m = task.message as ServerMessage<'task'>;
    const out = await executeTask(shard, m.kind, task.tensors!, m.lossScale);
    const result = { leaseId: m.leaseId, computeMs: 5, loss: out.loss, tensors: [] };
    await c.result('a', result, out.tensors, 10);
    expect(c.volunteers.get('a')!.tasksAccepted).toBe(1);
    expect(c.scheduler.standing(m.leaseId, 'a').kind).toBe('replay'); // its lease is completed
    expect(c.scheduler.expectedMs({ kind: m.kind, shard: 0 })).toBe(9);
    const replay = await c.result('a', result, out.tensors, 11);
    expect(replay[0]).toMatchObject({ type: 'refused', message: { code: 'duplicate', leaseId: m.leaseId } });
    const stolen = await c.result('b', result, out.tensors, 12);
    expect(stolen[0]).toMatchObject({ type: 'refused', message: { code: 'not-leased' } });
    expect(c.volunteers.get('a')!.tasksAccepted).toBe(1);
    expect(c.volunteers.get('b')!.tasksAccepted).toBe(0);
  });

  test('error: a client on another protocol version, or one that skips hello, is refused and disconnected', async () => {
    const c = coordinator();
    const effects = await c.hello('x', { ...hello('x'), protocol: PROTOCOL_VERSION + 1 }, 0);
    expect(types(effects)).toEqual(['x:refused', 'x:disconnect']);
    expect(types(c.ready('y', { shard: 0, version: 0 }, 0))).toEqual(['y:refused', 'y:disconnect']);
  });

  test('behavior: an accepted result is acknowledged with the work units it earned, the same the task log records', async () => {
    const c = coordinator(1);
    const [, weights] = await c.hello('a', hello('a'), 0);
    const [task] = c.ready('a', { shard: 0, version: 0 }, 1);
    const { result, tensors } = await perform(c, weights, task);
    const effects = await c.result('a', result, tensors, 10);
    const ack = effects.find((e) => e.type === 'accepted');
    expect(ack).toMatchObject({ to: 'a', message: { leaseId: result.leaseId, round: 0 } });
    const flops = ack?.type === 'accepted' ? (ack.message as ServerMessage<'accepted'>).flops : 0;
    expect(flops).toBeGreaterThan(0);
    expect(c.volunteers.get('a')!.flopsAccepted).toBe(flops);
  });

  test('behavior: a volunteer that is not accepting gets no task; its given-back task goes to another at once; accepting again, it gets one', async () => {
    const notices: string[] = [];
    const c = coordinator(1, { notice: (kind, text) => notices.push(`${kind}: ${text}`) });
    await c.hello('a', hello('a'), 0);
    await c.hello('b', hello('b'), 0);
    expect(c.availability('b', { accepting: false, reason: 'paused' }, 1)).toEqual([]);
    expect(types(c.ready('b', { shard: 0, version: 0 }, 1))).toEqual([]);
    const [task] = c.ready('a', { shard: 0, version: 0 }, 2);
    if (task.type !== 'task') throw new Error('expected a task');
    const leaseId = (task.message as ServerMessage<'task'>).leaseId;
    expect(types(c.availability('a', { accepting: false, reason: 'paused' }, 3))).toEqual([]);
    // a, paused, gives its task back: b is paused too, so the task waits
    expect(types(c.giveBack('a', { leaseId, reason: 'paused' }, 4))).toEqual([]);
    expect(types(c.availability('b', { accepting: true, reason: 'resumed' }, 5))).toEqual(['b:task']);
    expect(notices).toEqual(
      ['join: a joined (cpu) and holds shard 0', 'join: b joined (cpu) and holds shard 0', `reissue: a gave back r0/forward/s0/m0 (paused); it is re-issued`].map((n) =>
        n.replace('forward', c.run.plan.tasks[0].kind),
      ),
    );
  });

  test('behavior: a volunteer that leaves holding tasks (the one it runs and the next) is in the event feed with both re-issued', async () => {
    const notices: string[] = [];
    const c = coordinator(1, { notice: (kind, text) => notices.push(`${kind}: ${text}`) });
    await c.hello('a', hello('a'), 0);
    await c.hello('b', { ...hello('b'), adapter: 'google swiftshader' }, 0);
    c.ready('a', { shard: 0, version: 0 }, 1);
    c.availability('b', { accepting: false, reason: 'resting' }, 1);
    c.ready('b', { shard: 0, version: 0 }, 1);
    await c.disconnect('a', 2);
    expect(notices.at(-1)).toBe(`leave: a left; ${c.run.plan.id(c.run.plan.tasks[0])}, ${c.run.plan.id(c.run.plan.tasks[1])} are re-issued`);
    expect(notices[1]).toBe('join: b joined (cpu, google swiftshader) and holds shard 0');
  });

  test("behavior: the first result for a lease its volunteer holds is awaited (spared by the flood cap); a second copy, another's lease, an unknown lease or another message is not", async () => {
    const c = coordinator();
    await c.hello('a', hello('a'), 0);
    await c.hello('b', hello('b'), 0);
    c.ready('a', { shard: 0, version: 0 }, 1);
    const [held] = c.scheduler.leasesOf('a').map((l) => l.id);
    expect(c.awaits('b', 'result', { leaseId: held })).toBe(false);
    expect(c.awaits('a', 'giveBack', { leaseId: held })).toBe(false);
    expect(c.awaits('a', 'result', { leaseId: 'L999' })).toBe(false);
    expect(c.awaits('a', 'result', { leaseId: 7 })).toBe(false);
    expect(c.awaits('a', 'result', null)).toBe(false);
    expect(c.awaits('a', 'result', { leaseId: held })).toBe(true);
    expect(c.awaits('a', 'result', { leaseId: held })).toBe(false);
    // a lease given back is no longer held
    const [, queued] = c.scheduler.leasesOf('a');
    c.giveBack('a', { leaseId: queued.id, reason: 'paused' }, 2);
    expect(c.awaits('a', 'result', { leaseId: queued.id })).toBe(false);
  });
});
