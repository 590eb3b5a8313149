import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { openSqliteStores } from '../src/store/sqlite/open-sqlite-stores.ts';
import type { TaskRecord } from '../src/store/stores.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const MALLORY = '0x00000000000000000000000000000000000000aa';
const ALICE = '0x00000000000000000000000000000000000000bb';

function task(round: number, address: string, flops: number): TaskRecord {
  return { round, taskId: `r${round}/forward/s0/m0/${address}`, leaseId: `L${round}`, volunteer: address, kind: 'forward', shard: 0, microBatch: 0, flops, computeMs: 1, address };
}

describe('bans and forfeits (SQLite)', () => {
  test('behavior: a ban forfeits the address’s receipts from the round given on (none earlier), survives a reopen, and leaves others alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'openshard-bans-'));
    dirs.push(dir);
    const path = join(dir, 'openshard.sqlite');
    const stores = await openSqliteStores(path);
    await stores.runs.createRun('run', '{}', 0);
    for (let r = 0; r < 6; r++) await stores.runs.closeRound('run', { round: r, loss: 1, tokens: 1, closedAt: r }, [task(r, MALLORY, 10), task(r, ALICE, 7)]);
    // rounds 0–2 are in an epoch already: vested, they stay Mallory's
    await stores.runs.ban('run', { address: MALLORY, reason: 'random results', at: 100, forfeitFrom: 3 });
    expect(await stores.runs.shares('run')).toEqual(
      new Map([
        [ALICE, 42n],
        [MALLORY, 30n],
      ]),
    );
    expect(await stores.runs.shares('run', 3)).toEqual(
      new Map([
        [ALICE, 21n],
        [MALLORY, 30n],
      ]),
    );
    // what a banned address would still send (a round closing after the ban) counts for nothing either
    await stores.runs.closeRound('run', { round: 6, loss: 1, tokens: 1, closedAt: 6 }, [task(6, MALLORY, 10)]);
    expect((await stores.runs.shares('run')).get(MALLORY)).toBe(30n);
    await stores.close();

    const reopened = await openSqliteStores(path);
    expect(await reopened.runs.bans()).toEqual([{ address: MALLORY, reason: 'random results', at: 100, forfeitFrom: 3 }]);
    await reopened.runs.ban('run', { address: MALLORY, reason: 'again', at: 200, forfeitFrom: 5 });
    expect(await reopened.runs.bans()).toEqual([{ address: MALLORY, reason: 'random results', at: 100, forfeitFrom: 3 }]);
    await reopened.close();
  });

  test('behavior: a rewind forgets the rounds but keeps their work (and the open round’s) credited, also across a crash recovery; a banned address’s stays forfeited', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'openshard-rewind-'));
    dirs.push(dir);
    const stores = await openSqliteStores(join(dir, 'openshard.sqlite'));
    const runs = stores.runs;
    await runs.createRun('run', '{}', 0);
    for (let r = 0; r < 4; r++) await runs.closeRound('run', { round: r, loss: 1, tokens: 1, closedAt: r }, [task(r, ALICE, 7), task(r, MALLORY, 10)]);
    await runs.recordMetric('run', 3, 'validationLoss', 2, 3);
    await runs.ban('run', { address: MALLORY, reason: 'caught in round 4', at: 5, forfeitFrom: 0 });
    await runs.rewindTo('run', 2, [task(4, ALICE, 7), task(4, MALLORY, 10)], 'x');
    expect((await runs.rounds('run')).map((r) => r.round)).toEqual([0, 1]);
    expect((await runs.tasks('run')).every((t) => t.round < 2)).toBe(true);
    expect(await runs.metrics('run', 'validationLoss')).toEqual([]);
    expect(await runs.shares('run')).toEqual(new Map([[ALICE, 35n]]));
    // trained again: the same task ids are free; a crash recovery to round 2 keeps the undone work
    await runs.closeRound('run', { round: 2, loss: 1, tokens: 1, closedAt: 9 }, [task(2, ALICE, 7)]);
    await runs.rollbackTo('run', 2);
    expect(await runs.shares('run')).toEqual(new Map([[ALICE, 35n]]));
    expect((await runs.receipts('run')).filter((r) => r.taskId.includes('#undone-x'))).toHaveLength(6);
    await stores.close();
  });
});
