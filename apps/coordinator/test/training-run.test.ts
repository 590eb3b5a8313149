import { encode } from '@openshard/data';
import { DEFAULT_OPTIMIZER, Shard, ShardInputError, type GptConfig } from '@openshard/model';
import { CpuBackend, Random } from '@openshard/tensor';
import { Trainer } from '@openshard/trainer';
import { executeTask } from '@openshard/volunteer';
import { describe, expect, test } from 'vitest';
import { TrainingRun, type RunOptions } from '../src/training/training-run.ts';

const CONFIG: GptConfig = { vocabSize: 256, contextLength: 8, layers: 3, heads: 2, width: 16 };
const TEXT = encode('A volunteer holds one shard; the coordinator holds the round together. '.repeat(8));
const OPTIONS: RunOptions = { config: CONFIG, shards: 3, batch: 2, microBatches: 3, seed: 7, optimizer: { ...DEFAULT_OPTIMIZER, warmupSteps: 2, decaySteps: 20 } };

/** Volunteers in this process: one Shard per shard index, refreshed whenever the coordinator's version moves. */
async function volunteerShards(run: TrainingRun, be: CpuBackend, held: (Shard | null)[], versions: number[]): Promise<Shard[]> {
  for (const [s, state] of run.shards.entries()) {
    if (held[s] && versions[s] === state.version) continue;
    held[s]?.dispose();
    const values = await state.values();
    held[s] = Shard.fromValues(be, CONFIG, state.spec, (p) => values.get(p.name)!);
    versions[s] = state.version;
  }
  return held as Shard[];
}

describe('TrainingRun (coordinator, no sockets)', () => {
  test('behavior: tasks run in any order by volunteers give the single-process loss sequence (CPU, 1e-5 relative)', async () => {
    const rounds = 4;
    const trainer = new Trainer(new CpuBackend(), TEXT, OPTIONS);
    const expected: number[] = [];
    for (let i = 0; i < rounds; i++) expected.push((await trainer.trainStep()).loss);

    const be = new CpuBackend();
    const run = new TrainingRun(new CpuBackend(), TEXT, OPTIONS);
    const rng = new Random(3);
    const held: (Shard | null)[] = run.shards.map(() => null);
    const versions: number[] = [];
    const losses: number[] = [];
    while (losses.length < rounds) {
      const ready = run.plan.ready();
      // arrival order scrambled: the sums must not depend on it
      const t = ready[Math.floor(rng.next() * ready.length)];
      const shards = await volunteerShards(run, be, held, versions);
      const inputs = run.inputs(t);
      const out = await executeTask(shards[t.shard], t.kind, inputs.tensors, inputs.lossScale);
      const r = run.accept(t, out);
      if (r.closed) losses.push(r.closed.loss);
    }
    losses.forEach((l, i) => expect(Math.abs(l - expected[i]) / expected[i], `round ${i}`).toBeLessThanOrEqual(1e-5));
    const trained = await trainer.parameterValues();
    for (const state of run.shards) {
      for (const [name, v] of await state.values()) expect(v, name).toEqual(trained.get(name));
    }
  });

  test('error: a result with a missing, misshapen or unexpected tensor, or a non-finite loss, is refused and changes nothing', async () => {
    const be = new CpuBackend();
    const run = new TrainingRun(be, TEXT, { ...OPTIONS, shards: 2, microBatches: 1 });
    const first = run.plan.ready()[0];
    const values = await run.shards[0].values();
    const shard0 = Shard.fromValues(be, CONFIG, run.specs[0], (p) => values.get(p.name)!);
    const good = await executeTask(shard0, 'forward', run.inputs(first).tensors);
    expect(() => run.accept(first, { tensors: [] })).toThrow("forward result for shard 0 lacks tensor 'y'");
    expect(() => run.accept(first, { tensors: [{ ...good.tensors[0], shape: [2, 8, 8] }] })).toThrow("tensor 'y' is f32[2,8,8], expected f32[2,8,16] for shard 0");
    expect(() => run.accept(first, { tensors: [...good.tensors, { name: 'extra', dtype: 'f32', shape: [1], data: new Float32Array(1) }] })).toThrow(ShardInputError);
    expect(run.plan.isDone(first)).toBe(false);
    run.accept(first, good);
    expect(() => run.accept(first, good)).toThrow('was already applied');
    const loss = run.plan.ready()[0];
    const shard1 = Shard.init(be, CONFIG, run.specs[1], 7);
    const out = await executeTask(shard1, 'lossAndBackward', run.inputs(loss).tensors, run.inputs(loss).lossScale);
    expect(() => run.accept(loss, { ...out, loss: NaN })).toThrow('has loss NaN, expected a finite number');
    const missingGrad = out.tensors.filter((t) => t.name !== 'lm_head.weight');
    expect(() => run.accept(loss, { ...out, tensors: missingGrad })).toThrow("lacks tensor 'lm_head.weight'");
    expect(run.plan.isDone(loss)).toBe(false);
    expect(run.shards[1].version).toBe(0);
  });

  test('behavior: a held result keeps its shard from stepping until released; a rewind restores a kept round exactly, with new version numbers', async () => {
    const be = new CpuBackend();
    const trainer = new Trainer(new CpuBackend(), TEXT, OPTIONS);
    const expected: number[] = [];
    for (let i = 0; i < 3; i++) expected.push((await trainer.trainStep()).loss);

    const run = new TrainingRun(new CpuBackend(), TEXT, OPTIONS);
    const held: (Shard | null)[] = run.shards.map(() => null);
    const versions: number[] = [];
    /** Runs the round's tasks in plan order, holding those whose id matches `hold`; returns the held ones (the round closes only without any). */
    const runRound = async (hold: (id: string) => boolean) => {
      const waiting = [];
      for (;;) {
        const t = run.plan.ready()[0];
        if (!t) return waiting;
        const shards = await volunteerShards(run, be, held, versions);
        const inputs = run.inputs(t);
        const h = hold(run.plan.id(t));
        const r = run.accept(t, await executeTask(shards[t.shard], t.kind, inputs.tensors, inputs.lossScale), h);
        if (h) waiting.push(t);
        if (r.closed && waiting.length) throw new Error('the round closed with a result held');
        if (r.closed) return waiting;
      }
    };
    await run.keepSnapshot(3);
    const [heldTask] = await runRound((id) => id.endsWith('backward/s0/m1'));
    expect(run.isHeld(heldTask)).toBe(true);
    expect(run.shards[0].steps).toBe(0); // its gradients are complete, but one is held
    expect(run.shards[1].steps).toBe(1);
    const released = run.release(heldTask);
    expect(released.stepped).toEqual([0]);
    expect(released.closed?.loss).toBeCloseTo(expected[0], 5);
    await run.keepSnapshot(3);

    // round 1 goes wrong (a cheat found late, say): back to its start, and it is trained again
    await runRound(() => false);
    const versionsBefore = run.shards.map((s) => s.version);
    expect(run.round).toBe(2);
    expect(run.rewindTarget(1)).toBe(1);
    run.rewind(1);
    expect(run.round).toBe(1);
    run.shards.forEach((s, i) => {
      expect(s.steps).toBe(1);
      expect(s.version).toBeGreaterThan(versionsBefore[i]);
    });
    const losses: number[] = [];
    while (losses.length < 2) {
      const t = run.plan.ready()[0];
      const shards = await volunteerShards(run, be, held, versions);
      const inputs = run.inputs(t);
      const r = run.accept(t, await executeTask(shards[t.shard], t.kind, inputs.tensors, inputs.lossScale));
      if (r.closed) losses.push(r.closed.loss);
    }
    losses.forEach((l, i) => expect(Math.abs(l - expected[i + 1]) / expected[i + 1], `round ${i + 1}`).toBeLessThanOrEqual(1e-5));
    expect(() => run.rewind(7)).toThrow('no snapshot of round 7 is kept (kept: 0, 1)');
    expect(run.rewindTarget(9)).toBe(1);
  });
});
