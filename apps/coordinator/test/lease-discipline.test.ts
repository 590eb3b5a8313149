import { encode } from '@openshard/data';
import { DEFAULT_OPTIMIZER, type GptConfig } from '@openshard/model';
import { CpuBackend } from '@openshard/tensor';
import { Trainer } from '@openshard/trainer';
import { VolunteerClient } from '@openshard/volunteer';
import { afterEach, describe, expect, test } from 'vitest';
import { Coordinator } from '../src/coordinator.ts';
import { LeaseScheduler } from '../src/scheduler/leases.ts';
import { startCoordinatorServer } from '../src/server.ts';
import { TrainingRun, type RunOptions } from '../src/training/training-run.ts';

const CONFIG: GptConfig = { vocabSize: 256, contextLength: 8, layers: 2, heads: 2, width: 16 };
const TEXT = encode('A volunteer that rests or pauses holds no task hostage. '.repeat(10));
const OPTIONS: RunOptions = { config: CONFIG, shards: 1, batch: 2, microBatches: 2, seed: 4, optimizer: { ...DEFAULT_OPTIMIZER, warmupSteps: 1, decaySteps: 10 } };
const ROUNDS = 3;

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

/** A coordinator whose volunteer-facing calls are logged as they arrive. */
async function network() {
  const losses: number[] = [];
  const coordinator = new Coordinator(new TrainingRun(new CpuBackend(), TEXT, OPTIONS), new LeaseScheduler(), 'discipline', { roundClosed: (s) => void losses.push(s.loss) });
  const calls: string[] = [];
  const availability = coordinator.availability.bind(coordinator);
  coordinator.availability = (id, m, now) => {
    calls.push(`availability ${m.accepting} ${m.reason}`);
    return availability(id, m, now);
  };
  const giveBack = coordinator.giveBack.bind(coordinator);
  coordinator.giveBack = (id, m, now) => {
    calls.push(`giveBack ${m.leaseId} ${m.reason}`);
    return giveBack(id, m, now);
  };
  const result = coordinator.result.bind(coordinator);
  coordinator.result = (id, m, t, now) => {
    calls.push(`result ${m.leaseId}`);
    return result(id, m, t, now);
  };
  const server = await startCoordinatorServer(coordinator);
  cleanup.push(() => server.close());
  return { coordinator, server, calls, losses };
}

function start(url: string, o: Partial<ConstructorParameters<typeof VolunteerClient>[0]> = {}): VolunteerClient {
  const v = new VolunteerClient({ url, name: 'v', backend: new CpuBackend(), ...o });
  v.start();
  cleanup.push(() => v.stop());
  return v;
}

async function until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function referenceLosses(): Promise<number[]> {
  const t = new Trainer(new CpuBackend(), TEXT, OPTIONS);
  const out = [];
  for (let i = 0; i < ROUNDS; i++) out.push((await t.trainStep()).loss);
  return out;
}

describe('lease discipline of a volunteer (loopback sockets)', () => {
  test('behavior: at a 50% duty cycle the volunteer declares itself resting after every task and available after the rest; the losses do not change', async () => {
    const { server, calls, losses } = await network();
    const v = start(server.url, { dutyCycle: 0.5 });
    await until(() => losses.length >= ROUNDS, `${ROUNDS} rounds`);
    const expected = await referenceLosses();
    losses.slice(0, ROUNDS).forEach((l, i) => expect(l).toBeCloseTo(expected[i], 5));
    // each result is announced by a rest, and the next task comes only after the rest ends
    const results = calls.filter((c) => c.startsWith('result'));
    expect(results.length).toBeGreaterThanOrEqual(ROUNDS * OPTIONS.microBatches);
    for (const [i, c] of calls.entries()) {
      if (!c.startsWith('result') || i === calls.length - 1) continue;
      expect(calls[i - 1]).toBe('availability false resting');
      expect(calls.slice(i + 1).find((x) => x.startsWith('availability'))).toBe('availability true rested');
    }
    await until(() => v.stats.tasksAccepted === v.stats.tasksDone, 'every result sent to be acknowledged');
  });

  test('behavior: pausing gives back the task being run at once, and the one queued behind it, and takes no other; resuming carries on with the same losses', async () => {
    const { coordinator, server, calls, losses } = await network();
    // 50× slower: the task is held long enough to pause in the middle of it
    const v = start(server.url, { slowdown: 50 });
    await until(() => [...coordinator.volunteers.keys()].some((id) => coordinator.scheduler.busy(id)), 'a task to be running');
    const id = [...coordinator.volunteers.keys()][0];
    const done = v.stats.tasksDone;
    const before = calls.length;
    v.pause('owner paused');
    await until(() => !coordinator.scheduler.busy(id), 'the leases to be given back');
    expect(calls.slice(before)).toEqual(['availability false owner paused', expect.stringMatching(/^giveBack L\d+ owner paused$/), expect.stringMatching(/^giveBack L\d+ owner paused$/)]);
    expect(coordinator.volunteers.get(id)!.accepting).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    expect(coordinator.scheduler.busy(id)).toBe(false);
    expect(v.stats.tasksDone).toBe(done);
    expect(calls.filter((c) => c.startsWith('result'))).toHaveLength(done);

    v.resume('owner resumed');
    await until(() => losses.length >= 1, 'a round after resuming', 60_000);
    const expected = await referenceLosses();
    expect(losses[0]).toBeCloseTo(expected[0], 5);
  }, 120_000);
});
