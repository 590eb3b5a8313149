import type { Traffic } from '@openshard/protocol';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Corpus } from '@openshard/data';
import { preset } from '@openshard/model';
import type { Backend } from '@openshard/tensor';
import { forgetCheckpointsAfter, loadCheckpoint, saveCheckpoint, TRAINER_FORMAT, type TrainerFile } from '@openshard/trainer';
import type { RunStore } from '../store/stores.ts';
import { TrainingRun, type RunOptions } from '../training/training-run.ts';
import { networkCardWriter } from './checkpoint-card.ts';
import { corpusFingerprint, parseRunSpec, runOptimizer, type RunSpec } from './run-spec.ts';

/** The options of a new run; a resumed run keeps those it was started with. */
export interface NewRunOptions {
  preset: string;
  shards: number;
  batch: number;
  microBatches: number;
  seed: number;
  rounds: number;
  traffic: Traffic;
}

export interface OpenedRun {
  id: string;
  spec: RunSpec;
  run: TrainingRun;
  /** Round the run started or resumed at. */
  startRound: number;
  /** An existing run was opened (its options are those it was started with, whatever was asked). */
  resumed: boolean;
  /** Writes a checkpoint of the weights the next round starts from, with its model card, and commits it to the store. */
  checkpoint(): Promise<void>;
  /** Deletes checkpoints of rounds after `round` (undone by a rewind), once the latest is at or before it. */
  forgetCheckpointsAfter(round: number): void;
}

/**
 * The latest run in the store is resumed from its last checkpoint (rounds after it are forgotten
 * and trained again); without one, a new run of the preset starts.
 */
export async function openRun(store: RunStore, dataDir: string, corpus: Corpus, be: Backend, o: NewRunOptions): Promise<OpenedRun> {
  const latest = await store.latestRun();
  const opened = latest ? await resumeRun(store, dataDir, latest, corpus, be) : await createRun(store, corpus, be, o);
  const runDir = join(dataDir, 'runs', opened.id);
  const card = networkCardWriter(store, corpus);
  const checkpoint = async () => {
    const { run, spec } = opened;
    const trainer: TrainerFile = { format: TRAINER_FORMAT, backend: 'cpu', state: { step: run.round, sampler: run.samplerAtRoundStart }, options: spec.options, corpus: spec.corpus };
    const path = saveCheckpoint(runDir, { config: run.options.config, values: await run.parameterValues(), optimizer: await run.optimizerState(), trainer, card: await card(opened) });
    await store.commitCheckpoint(opened.id, run.round, path);
  };
  return { ...opened, startRound: opened.run.round, resumed: latest !== null, checkpoint, forgetCheckpointsAfter: (round) => forgetCheckpointsAfter(runDir, round) };
}

type Opened = Pick<OpenedRun, 'id' | 'spec' | 'run'>;

async function resumeRun(store: RunStore, dataDir: string, latest: NonNullable<Awaited<ReturnType<RunStore['latestRun']>>>, corpus: Corpus, be: Backend): Promise<Opened> {
  const spec = parseRunSpec(latest.spec);
  const fingerprint = corpusFingerprint(corpus);
  if (spec.corpus.trainCrc32 !== fingerprint.trainCrc32) {
    throw new Error(`run ${latest.id} in ${dataDir} was trained on ${spec.corpus.source} (${spec.corpus.trainBytes} bytes), not on ${corpus.source}; use another --data-dir`);
  }
  const config = preset(spec.preset);
  const options: RunOptions = { ...spec.options, config };
  let run: TrainingRun;
  if (latest.checkpoint) {
    // refuses a checkpoint of any other model, naming both
    const ckpt = loadCheckpoint(latest.checkpoint, config);
    run = new TrainingRun(
      be,
      corpus.train,
      options,
      {
        round: ckpt.trainer.state.step,
        sampler: ckpt.trainer.state.sampler,
        values: (name) => ckpt.values.get(name)!,
        moments: (name) => ckpt.optimizer.moments.get(name)!,
      },
      spec.traffic,
    );
  } else {
    run = new TrainingRun(be, corpus.train, options, undefined, spec.traffic);
  }
  await store.rollbackTo(latest.id, run.round);
  return { id: latest.id, spec, run };
}

async function createRun(store: RunStore, corpus: Corpus, be: Backend, o: NewRunOptions): Promise<Opened> {
  const id = randomUUID();
  const options: RunOptions = {
    config: preset(o.preset),
    shards: o.shards,
    batch: o.batch,
    microBatches: o.microBatches,
    seed: o.seed,
    optimizer: runOptimizer(o.rounds),
  };
  const { config: _, ...saved } = options;
  const spec: RunSpec = { preset: o.preset, rounds: o.rounds, options: saved, corpus: corpusFingerprint(corpus), traffic: o.traffic };
  await store.createRun(id, JSON.stringify(spec), Date.now());
  return { id, spec, run: new TrainingRun(be, corpus.train, options, undefined, o.traffic) };
}
