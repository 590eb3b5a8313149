import { encode } from '@openshard/data';
import { DEFAULT_OPTIMIZER, Shard, type GptConfig } from '@openshard/model';
import { PROTOCOL_VERSION, type ServerMessage, type WireTensor } from '@openshard/protocol';
import { CpuBackend } from '@openshard/tensor';
import { executeTask } from '@openshard/volunteer';
import { describe, expect, test } from 'vitest';
import { Coordinator, type Effect } from '../src/coordinator.ts';
import { LeaseScheduler } from '../src/scheduler/leases.ts';
import { TrainingRun } from '../src/training/training-run.ts';
import { DEFAULT_TRUST, type TrustPolicy } from '../src/trust/trust-book.ts';
import { Verification } from '../src/trust/verification.ts';

const CONFIG: GptConfig = { vocabSize: 256, contextLength: 8, layers: 1, heads: 1, width: 8 };

/** One shard, one micro-batch: every task can go to either volunteer; `random` decides audits and spot checks. */
function coordinator(policy: Partial<TrustPolicy>, notices: string[]): Coordinator {
  const run = new TrainingRun(new CpuBackend(), encode('two who agree are not always right. '.repeat(20)), {
    config: CONFIG,
    shards: 1,
    batch: 1,
    microBatches: 1,
    seed: 5,
    optimizer: DEFAULT_OPTIMIZER,
  });
  const verification = new Verification({ ...DEFAULT_TRUST, ...policy }, [], () => 0);
  return new Coordinator(run, new LeaseScheduler(), 'run', { notice: (kind, text) => notices.push(`${kind}: ${text}`) }, Infinity, null, verification);
}

/** Computes the task an effect carries on the weights another effect carried, then lies: every value ×100 (both colluders lie the same way). */
async function lie(weights: Effect, task: Effect): Promise<{ leaseId: string; tensors: WireTensor[] }> {
  if (weights.type !== 'weights' || task.type !== 'task') throw new Error(`expected weights and a task, got ${weights.type} and ${task.type}`);
  const values = new Map(weights.tensors!.map((t) => [t.name, t.data as Float32Array]));
  const m = task.message as ServerMessage<'task'>;
  const spec = (weights.message as ServerMessage<'weights'>).shard;
  const out = await executeTask(
    Shard.fromValues(new CpuBackend(), CONFIG, spec, (p) => values.get(p.name)!),
    m.kind,
    task.tensors!,
    m.lossScale,
  );
  return { leaseId: m.leaseId, tensors: out.tensors.map((t) => ({ ...t, data: (t.data as Float32Array).map((x) => x * 100) })) };
}

/** a sends a false result; b, the only other holder, audits it and sends the same false result. */
async function collude(spotCheckRate: number) {
  const notices: string[] = [];
  const c = coordinator({ spotCheckRate }, notices);
  const weights = new Map<string, Effect>();
  for (const id of ['a', 'b']) weights.set(id, (await c.hello(id, { protocol: PROTOCOL_VERSION, name: id, backend: 'cpu' }, 0)).find((e) => e.type === 'weights')!);
  const [task] = c.ready('a', { shard: 0, version: 0 }, 1);
  const first = await lie(weights.get('a')!, task);
  const afterResult = await c.result('a', { leaseId: first.leaseId, computeMs: 1, loss: 5, tensors: [] }, first.tensors, 2);
  expect(afterResult.filter((e) => e.type === 'task')).toHaveLength(0); // b is not ready yet
  const [audit] = c.ready('b', { shard: 0, version: 0 }, 3);
  expect(audit.type === 'task' && (audit.message as ServerMessage<'task'>).leaseId).toMatch(/^A\d+$/);
  const second = await lie(weights.get('b')!, audit);
  const verdict = await c.result('b', { leaseId: second.leaseId, computeMs: 1, loss: 5, tensors: [] }, second.tensors, 4);
  return { c, notices, verdict };
}

describe('colluding volunteers', () => {
  test("behavior: two volunteers sending the same false result, one auditing the other, are both caught by the spot check; the newcomer's result never entered the model", async () => {
    const { c, notices, verdict } = await collude(1);
    expect(verdict.filter((e) => e.type === 'disconnect').map((e) => e.to)).toEqual(['a', 'b']);
    expect(notices.filter((n) => n.startsWith('cheat:'))).toHaveLength(2);
    expect(notices.filter((n) => n.startsWith('rewind:'))).toEqual([]);
    expect(c.run.plan.ready()).toHaveLength(1); // the task is to be done again
    expect(c.run.shards[0].steps).toBe(0);
  });

  test('behavior: without spot checks the same pair would pass: the check is what catches them', async () => {
    const { c, notices } = await collude(0);
    expect(notices.filter((n) => n.startsWith('cheat:'))).toEqual([]);
    expect(c.run.shards[0].steps).toBe(1);
  });
});
