import { encode } from '@openshard/data';
import { DEFAULT_OPTIMIZER, type GptConfig, type ShardSpec } from '@openshard/model';
import { DEFAULT_LIMITS, type Traffic, type WireTensor } from '@openshard/protocol';
import { CpuBackend, type Backend } from '@openshard/tensor';
import { Trainer } from '@openshard/trainer';
import { executeTask, KeptGradients, KernelExecutor, VolunteerClient, type TaskOutput, type TaskToExecute } from '@openshard/volunteer';
import { PROTOCOL_VERSION, type ServerMessage } from '@openshard/protocol';
import { Shard } from '@openshard/model';
import type { Effect } from '../src/coordinator.ts';
import { afterEach, describe, expect, test } from 'vitest';
import { Coordinator } from '../src/coordinator.ts';
import { LeaseScheduler } from '../src/scheduler/leases.ts';
import { startCoordinatorServer, type CoordinatorServer } from '../src/server.ts';
import { TrainingRun, type RoundSummary, type RunOptions } from '../src/training/training-run.ts';
import { DEFAULT_TRUST } from '../src/trust/trust-book.ts';
import { Verification } from '../src/trust/verification.ts';
import { StandIn } from '../src/training/stand-in.ts';

/**
 * Compact traffic against exact, on loopback with in-process volunteers: the bytes, the losses,
 * the weights every holder computes from updates, and the gradient sums a volunteer sends.
 */
const CONFIG: GptConfig = { vocabSize: 256, contextLength: 16, layers: 4, heads: 2, width: 32 };
const TEXT = encode('Volunteers keep their gradients and send one sum a round; weights travel as updates. '.repeat(30));
const OPTIONS: RunOptions = { config: CONFIG, shards: 2, batch: 2, microBatches: 4, seed: 5, optimizer: { ...DEFAULT_OPTIMIZER, warmupSteps: 2, decaySteps: 40 } };

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

/** Our kernels, remembering the whole weights of its last load (what the volunteer computes with). */
class RecordingExecutor extends KernelExecutor {
  weights: readonly WireTensor[] = [];
  override load(config: GptConfig, spec: ShardSpec, weights: readonly WireTensor[]): Promise<void> {
    this.weights = weights;
    return super.load(config, spec, weights);
  }
}

/** Honest on every task but doubles the parameter gradients it keeps (after `honestTasks` tasks): its dx and y agree with any audit. */
class DoublingExecutor extends KernelExecutor {
  private tasks = 0;
  constructor(
    backend: Backend,
    private readonly honestTasks = 0,
  ) {
    super(backend);
  }

  override async execute(task: TaskToExecute, inputs: readonly WireTensor[]): Promise<TaskOutput> {
    const out = await super.execute(task, inputs);
    if (++this.tasks <= this.honestTasks) return out;
    return { ...out, tensors: out.tensors.map((t) => (['y', 'dx'].includes(t.name) ? t : { ...t, data: (t.data as Float32Array).map((x) => 2 * x) })) };
  }
}

/** Honest gradients, but every boundary tensor nudged by 0.5%: less than one q8 level for most values. */
class NudgingExecutor extends KernelExecutor {
  override async execute(task: TaskToExecute, inputs: readonly WireTensor[]): Promise<TaskOutput> {
    const out = await super.execute(task, inputs);
    return { ...out, tensors: out.tensors.map((t) => (['y', 'dx'].includes(t.name) ? { ...t, data: (t.data as Float32Array).map((x) => 1.005 * x) } : t)) };
  }
}

interface Network {
  server: CoordinatorServer;
  coordinator: Coordinator;
  losses: number[];
  closed: Promise<void>;
}

async function network(traffic: Traffic, rounds: number, verification: Verification | null = null, standIn: StandIn | null = null, notices: string[] = []): Promise<Network> {
  const losses: number[] = [];
  let resolve!: () => void;
  const closed = new Promise<void>((r) => (resolve = r));
  const run = new TrainingRun(new CpuBackend(), TEXT, OPTIONS, undefined, traffic);
  const coordinator = new Coordinator(
    run,
    new LeaseScheduler(),
    `traffic-${traffic}`,
    {
      roundClosed: (s: RoundSummary) => {
        losses.push(s.loss);
        if (losses.length === rounds) resolve();
      },
      notice: (kind, text) => void notices.push(`${kind}: ${text}`),
    },
    rounds,
    null,
    verification,
    undefined,
    standIn,
  );
  const server = await startCoordinatorServer(coordinator, { limits: { ...DEFAULT_LIMITS, maxMessageBytes: 1 << 22 } });
  cleanup.push(() => server.close());
  return { server, coordinator, losses, closed };
}

function join(url: string, name: string, executor: (be: Backend) => KernelExecutor = (be) => new RecordingExecutor(be)): { client: VolunteerClient; executors: KernelExecutor[] } {
  const executors: KernelExecutor[] = [];
  const client = new VolunteerClient({
    url,
    name,
    backend: new CpuBackend(),
    executor: (be) => {
      const e = executor(be);
      executors.push(e);
      return e;
    },
  });
  client.start();
  cleanup.push(() => client.stop());
  return { client, executors };
}

async function train(traffic: Traffic, rounds: number): Promise<{ bytes: number; losses: number[]; net: Network; executors: KernelExecutor[][] }> {
  const net = await network(traffic, rounds);
  const executors = [0, 1].map((i) => join(net.server.url, `${traffic}-${i}`).executors);
  await net.closed;
  // the last step's weights go out as the last round closes
  await new Promise((r) => setTimeout(r, 200));
  return { bytes: net.server.stats.bytesIn + net.server.stats.bytesOut, losses: net.losses, net, executors };
}

describe('compact traffic', () => {
  test("behavior: far fewer bytes than exact, the same learning within a few percent, and every holder computes the coordinator's weights bit for bit", async () => {
    const ROUNDS = 12;
    const exact = await train('exact', ROUNDS);
    const compact = await train('compact', ROUNDS);
    const trainer = new Trainer(new CpuBackend(), TEXT, OPTIONS);
    const reference: number[] = [];
    for (let i = 0; i < ROUNDS; i++) reference.push((await trainer.trainStep()).loss);
    trainer.dispose();

    // exact stays the single-process trainer
    exact.losses.forEach((l, i) => expect(Math.abs(l - reference[i]) / reference[i]).toBeLessThanOrEqual(1e-5));
    // compact learns as exact does (this model falls ~1 nat over these rounds)
    expect(compact.losses.at(-1)!).toBeLessThan(compact.losses[0] - 0.5);
    compact.losses.forEach((l, i) => expect(Math.abs(l - exact.losses[i]) / exact.losses[i], `round ${i}`).toBeLessThan(0.03));
    console.log(`bytes over ${ROUNDS} rounds: exact ${exact.bytes}, compact ${compact.bytes} (${(exact.bytes / compact.bytes).toFixed(1)}× fewer)`);
    expect(compact.bytes).toBeLessThan(exact.bytes / 4);

    // what each volunteer computed its weights to be, from updates, is the coordinator's copy exactly
    for (const [i, list] of compact.executors.entries()) {
      const held = (list.at(-1) as RecordingExecutor).weights;
      const shard = [...compact.net.coordinator.volunteers.values()].find((v) => v.name === `compact-${i}`)!.shard;
      const values = await compact.net.coordinator.run.shards[shard].valuesCached();
      expect(held.length).toBe(values.size);
      for (const t of held) expect(t.data, `${t.name} of shard ${shard}`).toEqual(values.get(t.name));
    }
  }, 120_000);

  test('error: boundary tensors nudged inside the rounding (0.5%, under one q8 level) are caught by the audit and banned', async () => {
    const ROUNDS = 2;
    const verification = new Verification({ ...DEFAULT_TRUST, auditWaitMs: 200 }, [], () => 0, 'compact');
    const net = await network('compact', ROUNDS, verification, new StandIn({ graceMs: 100, turnMs: 150 }));
    join(net.server.url, 'honest');
    join(net.server.url, 'nudger', (be) => new NudgingExecutor(be));
    await net.closed;
    expect(verification.counts.banned).toBe(1);
    expect([...net.coordinator.volunteers.values()].map((v) => v.name)).toEqual(['honest']);
  }, 120_000);

  test('error: a trusted volunteer whose sampled sum is false is caught and banned; the network goes on', async () => {
    const ROUNDS = 4;
    // trusted after one upheld result; every result and sum of a trusted volunteer audited
    const verification = new Verification({ ...DEFAULT_TRUST, probation: 1, auditRate: 1, spotCheckRate: 0, auditWaitMs: 100 }, [], () => 0.5, 'compact');
    const notices: string[] = [];
    const net = await network('compact', ROUNDS, verification, new StandIn({ graceMs: 100, turnMs: 150 }), notices);
    join(net.server.url, 'honest');
    // honest through rounds 0 and 1 (4 tasks a round on the last shard, 8 on the first): trusted before it lies
    join(net.server.url, 'doubler', (be) => new DoublingExecutor(be, 8));
    await net.closed;
    expect(verification.counts.banned).toBe(1);
    const caught = notices.find((n) => n.startsWith('cheat: doubler was caught'));
    expect(caught).toMatch(/its gradients of round [2-9]/);
    expect(net.losses).toHaveLength(ROUNDS);
  }, 120_000);

  test("error: a volunteer whose gradient sums are false is caught by the coordinator's own sum and banned; its rounds use the coordinator's sum", async () => {
    const ROUNDS = 3;
    const verification = new Verification({ ...DEFAULT_TRUST, auditWaitMs: 200 }, [], () => 0, 'compact');
    // once the cheat is banned the coordinator computes its shard, so the run goes on
    const net = await network('compact', ROUNDS, verification, new StandIn({ graceMs: 100, turnMs: 150 }));
    join(net.server.url, 'honest');
    join(net.server.url, 'doubler', (be) => new DoublingExecutor(be));
    const doubler = await new Promise<string>((resolve) => {
      const look = setInterval(() => {
        const v = [...net.coordinator.volunteers.values()].find((x) => x.name === 'doubler');
        if (!v) return;
        resolve(`connection:${v.id}`);
        clearInterval(look);
      }, 5);
    });
    await net.closed;
    expect(verification.book.isBanned(doubler)).toBe(true);
    expect(verification.counts.banned).toBe(1);
    // the rounds closed with honest gradients: the losses of an honest compact run
    const honest = await train('compact', ROUNDS);
    net.losses.forEach((l, i) => expect(Math.abs(l - honest.losses[i]) / honest.losses[i], `round ${i}`).toBeLessThan(1e-3));
  }, 120_000);

  test("behavior: a volunteer that leaves before sending its gradients costs nothing but the coordinator's compute: it computes them, the round closes, and the step is the one the volunteer's sum would have made", async () => {
    const losses: number[] = [];
    const make = () =>
      new Coordinator(new TrainingRun(new CpuBackend(), TEXT, { ...OPTIONS, shards: 1 }, undefined, 'compact'), new LeaseScheduler(), 'run', { roundClosed: (s) => void losses.push(s.loss) }, 1);
    /** Answers every task the effects carry until a collect comes (or nothing is left), as a volunteer of shard 0 would. */
    type Sent = Exclude<Effect, { type: 'disconnect' }>;
    async function work(c: Coordinator, first: Effect[], kept = new KeptGradients()): Promise<Effect[]> {
      const weights = first.find((e) => e.type === 'weights') as Sent;
      const values = new Map(weights.tensors!.map((t) => [t.name, t.data as Float32Array]));
      const shard = Shard.fromValues(new CpuBackend(), CONFIG, c.run.specs[0], (p) => values.get(p.name)!);
      let pending = [...first, ...c.ready('a', { shard: 0, version: 0 }, 1)];
      const seen: Effect[] = [];
      while (pending.some((e) => e.type === 'task')) {
        const e = pending.find((x) => x.type === 'task') as Sent;
        pending = pending.filter((x) => x !== e);
        const m = e.message as ServerMessage<'task'>;
        expect(m.keepGradients).toBe(true);
        const out = await executeTask(shard, m.kind, e.tensors!, m.lossScale);
        const sent = kept.keep({ round: m.round, shard: m.shard, version: m.version }, m.microBatch, out.tensors);
        const effects = await c.result('a', { leaseId: m.leaseId, computeMs: 1, loss: out.loss, tensors: [] }, sent, 2);
        seen.push(...effects);
        pending.push(...effects);
      }
      shard.dispose();
      return seen;
    }
    const c = make();
    const effects = await work(c, await c.hello('a', { protocol: PROTOCOL_VERSION, name: 'a', backend: 'cpu' }, 0));
    const collect = effects.find((e) => e.type === 'collect') as Sent | undefined;
    expect(collect?.message).toEqual({ round: 0, shard: 0, microBatches: [0, 1, 2, 3] });
    expect(losses).toEqual([]);
    await c.disconnect('a', 3);
    expect(losses).toHaveLength(1);
    // the same round with the volunteer answering with the sum it kept (unrounded, to compare exactly): the same weights after the step
    const d = make();
    const kept = new KeptGradients();
    await work(d, await d.hello('a', { protocol: PROTOCOL_VERSION, name: 'a', backend: 'cpu' }, 0), kept);
    const sum = kept.sum(0, 0, [0, 1, 2, 3], 'fp32');
    if (typeof sum === 'string') throw new Error(sum);
    await d.gradients('a', { round: 0, shard: 0, microBatches: [0, 1, 2, 3], tensors: [] }, sum, 4);
    expect(losses).toHaveLength(2);
    const [mine, theirs] = await Promise.all([c, d].map((x) => x.run.shards[0].valuesCached()));
    expect(c.run.shards[0].version).toBe(1);
    for (const [name, v] of theirs) expect(mine.get(name), name).toEqual(v);
  });
});
