import { encode } from '@openshard/data';
import { DEFAULT_OPTIMIZER, type GptConfig } from '@openshard/model';
import { PROTOCOL_VERSION } from '@openshard/protocol';
import { CpuBackend } from '@openshard/tensor';
import { describe, expect, test } from 'vitest';
import { Coordinator, type SessionVerifier } from '../src/coordinator.ts';
import { chooseShard } from '../src/scheduler/assignment.ts';
import { ExposureLedger, type ExposurePolicy } from '../src/scheduler/exposure.ts';
import { LeaseScheduler } from '../src/scheduler/leases.ts';
import { TrainingRun } from '../src/training/training-run.ts';

const CONFIG: GptConfig = { vocabSize: 256, contextLength: 8, layers: 3, heads: 1, width: 8 };
const HOUR = 3_600_000;
const sessions: SessionVerifier = { addressOf: (token) => token };

function coordinator(exposure: ExposurePolicy): Coordinator {
  const run = new TrainingRun(new CpuBackend(), encode('exposure is counted per wallet. '.repeat(20)), { config: CONFIG, shards: 3, batch: 1, microBatches: 1, seed: 1, optimizer: DEFAULT_OPTIMIZER });
  return new Coordinator(run, new LeaseScheduler(), 'run', {}, Infinity, sessions, null, exposure);
}

const hello = (name: string, session?: string) => ({ protocol: PROTOCOL_VERSION, name, backend: 'cpu' as const, ...(session ? { session } : {}) });
const shardOf = (c: Coordinator, id: string) => c.volunteers.get(id)!.shard;

describe('exposure budget', () => {
  test('behavior: the ledger counts distinct shards per identity within the window, and the largest fraction ever sent', () => {
    const ledger = new ExposureLedger({ maxShards: 2, windowMs: HOUR }, [10, 30, 60]);
    ledger.sent('alice', 0, 0, 0);
    ledger.sent('alice', 0, 1, 10);
    expect(ledger.allows('alice', 2, 20)).toBe(true);
    ledger.sent('alice', 2, 1, 20);
    expect(ledger.recent('alice', 30).sort()).toEqual([0, 2]);
    expect(ledger.allows('alice', 1, 30)).toBe(false);
    expect(ledger.allows('alice', 2, 30)).toBe(true);
    // once the window has passed, shard 0 no longer counts: a third shard is allowed
    expect(ledger.allows('alice', 1, 10 + HOUR)).toBe(true);
    expect(ledger.maxFraction()).toBeCloseTo(0.7);
    expect(ledger.budgetFraction()).toBeCloseTo(0.9);
    expect(ledger.allows('bob', 1, 0)).toBe(true);
  });

  test('behavior: shard choice considers only allowed shards, and refuses when none is', () => {
    expect(chooseShard([5, 9, 1], [])).toBe(0);
    expect(chooseShard([5, 9, 1], [{ shard: 0, throughput: 1 }], (s) => s !== 1)).toBe(2);
    expect(() => chooseShard([5, 9], [], () => false)).toThrow(/no shard is allowed/);
  });

  test('behavior: a wallet that reconnects on other connections is given a shard it has already received once its budget is spent', async () => {
    const c = coordinator({ maxShards: 1, windowMs: HOUR });
    await c.hello('a1', hello('a1', 'alice'), 0);
    const first = shardOf(c, 'a1');
    await c.disconnect('a1', 1);
    for (const [i, id] of ['a2', 'a3', 'a4'].entries()) {
      await c.hello(id, hello(id, 'alice'), 2 + i);
      expect(shardOf(c, id), `connection ${id}`).toBe(first);
      await c.disconnect(id, 3 + i);
    }
    expect(c.maxExposure()).toBeLessThan(0.7);
  });

  test('behavior: rebalancing moves no volunteer beyond its budget; one with budget left is moved', async () => {
    const tight = coordinator({ maxShards: 1, windowMs: HOUR });
    for (const id of ['a', 'b', 'c', 'd']) await tight.hello(id, hello(id, `wallet-${id}`), 0);
    const lonely = (c: Coordinator) => [0, 1, 2].find((s) => [...c.volunteers.values()].filter((v) => v.shard === s).length === 1)!;
    const leaving = [...tight.volunteers.values()].find((v) => v.shard === lonely(tight))!.id;
    const before = new Map([...tight.volunteers.values()].map((v) => [v.id, v.shard]));
    await tight.disconnect(leaving, 5);
    for (const v of tight.volunteers.values()) expect(v.shard, v.name).toBe(before.get(v.id));

    const roomy = coordinator({ maxShards: 2, windowMs: HOUR });
    for (const id of ['a', 'b', 'c', 'd']) await roomy.hello(id, hello(id, `wallet-${id}`), 0);
    const gone = lonely(roomy);
    await roomy.disconnect([...roomy.volunteers.values()].find((v) => v.shard === gone)!.id, 5);
    expect([...roomy.volunteers.values()].some((v) => v.shard === gone)).toBe(true);
  });
});
