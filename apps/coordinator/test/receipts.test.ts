import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode } from '@openshard/data';
import { DEFAULT_OPTIMIZER, Shard, type GptConfig } from '@openshard/model';
import { PROTOCOL_VERSION, type ServerMessage } from '@openshard/protocol';
import { CpuBackend } from '@openshard/tensor';
import { executeTask } from '@openshard/volunteer';
import { afterAll, describe, expect, test } from 'vitest';
import { Coordinator, type Effect, type SessionVerifier } from '../src/coordinator.ts';
import { LeaseScheduler } from '../src/scheduler/leases.ts';
import { openSqliteStores } from '../src/store/sqlite/open-sqlite-stores.ts';
import type { TaskRecord } from '../src/store/stores.ts';
import { TrainingRun } from '../src/training/training-run.ts';

const CONFIG: GptConfig = { vocabSize: 256, contextLength: 8, layers: 1, heads: 1, width: 8 };
const ALICE = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';

/** Sessions issued by a test: the token names the address it was issued for. */
const sessions: SessionVerifier = {
  addressOf(token) {
    const address = /^session-for-(0x[0-9a-fA-F]{40})$/.exec(token)?.[1];
    if (!address) throw new Error(`token '${token}' was not issued here`);
    return address;
  },
};

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Runs one round (one shard, two micro-batches) with the given volunteers taking tasks in turn. */
async function round(hellos: { id: string; session?: string }[]): Promise<{ closed: TaskRecord[]; refused: Effect[] }> {
  let closed: TaskRecord[] = [];
  const run = new TrainingRun(new CpuBackend(), encode('receipts for accepted work only. '.repeat(20)), {
    config: CONFIG,
    shards: 1,
    batch: 1,
    microBatches: 2,
    seed: 2,
    optimizer: DEFAULT_OPTIMIZER,
  });
  const c = new Coordinator(
    run,
    new LeaseScheduler(),
    'run',
    {
      roundClosed: (_, tasks) => {
        closed = tasks;
      },
    },
    Infinity,
    sessions,
  );
  const refused: Effect[] = [];
  const shards = new Map<string, Shard>();
  for (const h of hellos) {
    const effects = await c.hello(h.id, { protocol: PROTOCOL_VERSION, name: h.id, backend: 'cpu', ...(h.session ? { session: h.session } : {}) }, 0);
    const weights = effects.find((e) => e.type === 'weights');
    if (weights?.type !== 'weights') {
      refused.push(...effects);
      continue;
    }
    const values = new Map(weights.tensors!.map((t) => [t.name, t.data as Float32Array]));
    shards.set(
      h.id,
      Shard.fromValues(new CpuBackend(), CONFIG, run.specs[0], (p) => values.get(p.name)!),
    );
  }
  const pending: Effect[] = [];
  for (const id of shards.keys()) pending.push(...c.ready(id, { shard: 0, version: 0 }, 1));
  while (pending.length) {
    const e = pending.shift()!;
    if (e.type !== 'task') continue;
    const m = e.message as ServerMessage<'task'>;
    const out = await executeTask(shards.get(e.to)!, m.kind, e.tensors!, m.lossScale);
    pending.push(...(await c.result(e.to, { leaseId: m.leaseId, computeMs: 1, loss: out.loss, tensors: [] }, out.tensors, 2)));
  }
  return { closed, refused };
}

describe('work receipts', () => {
  test("behavior: a signed-in volunteer's accepted tasks carry its address; a volunteer without a session accrues nothing", async () => {
    const { closed } = await round([{ id: 'alice', session: `session-for-${ALICE}` }, { id: 'anon' }]);
    expect(closed).toHaveLength(2);
    for (const t of closed) expect(t.address).toBe(t.volunteer === 'alice' ? ALICE : null);
  });

  test('error: a session that does not verify is refused and the connection dropped, never contributing anonymously', async () => {
    const { closed, refused } = await round([{ id: 'mallory', session: 'session-for-someone-else' }, { id: 'anon' }]);
    expect(refused.map((e) => e.type)).toEqual(['refused', 'disconnect']);
    expect(refused[0]).toMatchObject({ message: { code: 'session', message: expect.stringContaining("token 'session-for-someone-else' was not issued here") } });
    expect(closed.every((t) => t.volunteer === 'anon' && t.address === null)).toBe(true);
  });

  test('behavior: receipts are committed with their round, summed as shares per address, and forgotten with the rounds a recovery forgets', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'openshard-receipts-'));
    dirs.push(dir);
    const stores = await openSqliteStores(join(dir, 'openshard.sqlite'));
    const store = stores.runs;
    await store.createRun('r', '{}', 0);
    const task = (round: number, m: number, address: string | null, flops: number): TaskRecord => ({
      round,
      taskId: `r${round}/m${m}`,
      leaseId: `L${round}${m}`,
      volunteer: address ?? 'anon',
      kind: 'lossAndBackward',
      shard: 0,
      microBatch: m,
      flops,
      computeMs: 1,
      address,
    });
    const big = 2 ** 52; // sums beyond 2^53 must stay exact
    await store.closeRound('r', { round: 0, loss: 5, tokens: 8, closedAt: 1 }, [task(0, 0, ALICE, big), task(0, 1, null, 7)]);
    await store.closeRound('r', { round: 1, loss: 4, tokens: 8, closedAt: 2 }, [task(1, 0, ALICE, big), task(1, 1, ALICE, 3)]);
    expect(await store.shares('r')).toEqual(new Map([[ALICE, 2n * BigInt(big) + 3n]]));
    expect(await store.shares('r', 1)).toEqual(new Map([[ALICE, BigInt(big)]]));
    expect((await store.receipts('r')).map((r) => r.taskId)).toEqual(['r0/m0', 'r1/m0', 'r1/m1']);
    expect((await store.tasks('r')).map((t) => t.address)).toEqual([ALICE, null, ALICE, ALICE]);
    // a round whose transaction fails leaves no receipt behind
    await expect(store.closeRound('r', { round: 2, loss: 3, tokens: 8, closedAt: 3 }, [task(2, 0, ALICE, 5), task(1, 1, ALICE, 5)])).rejects.toThrow(/UNIQUE/);
    expect(await store.receipts('r')).toHaveLength(3);
    await store.rollbackTo('r', 1);
    expect(await store.shares('r')).toEqual(new Map([[ALICE, BigInt(big)]]));
    await stores.close();
  });
});
