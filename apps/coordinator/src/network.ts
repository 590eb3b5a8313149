import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadCorpus } from '@openshard/data/node';
import { crc32, DEFAULT_OPTIMIZER, preset } from '@openshard/model';
import { CpuBackend } from '@openshard/tensor';
import { loadCheckpoint, saveCheckpoint, TRAINER_FORMAT, type CorpusFingerprint, type TrainerFile } from '@openshard/trainer';
import { Coordinator } from './coordinator.ts';
import { LeaseScheduler, type TaskLease } from './scheduler/leases.ts';
import { startCoordinatorServer, type CoordinatorServer } from './server.ts';
import { RunStore } from './store/run-store.ts';
import { TrainingRun, type RoundSummary, type RunOptions } from './training/training-run.ts';

export interface NetworkOptions {
  preset: string;
  shards: number;
  batch: number;
  microBatches: number;
  seed: number;
  /** Rounds the run lasts (the learning rate decays over them); no tasks are issued after the last. */
  rounds: number;
  data: string;
  host: string;
  port: number;
  /** SQLite file and checkpoints live here. */
  dataDir: string;
  /** A checkpoint is written every this many rounds (and after the last). */
  checkpointEvery: number;
  onRound?: (s: RoundSummary, c: Coordinator) => void;
  onFinished?: (c: Coordinator) => void;
  onTaskAccepted?: (lease: TaskLease, now: number) => void;
}

export const DEFAULT_NETWORK: NetworkOptions = {
  preset: 'tiny', shards: 4, batch: 4, microBatches: 4, seed: 1337, rounds: 2000, data: 'brown', host: '127.0.0.1', port: 8600,
  dataDir: 'data', checkpointEvery: 10,
};

/** What a run is, stored with it so a restarted coordinator resumes the same run. */
interface RunSpec {
  preset: string;
  rounds: number;
  options: Omit<RunOptions, 'config'>;
  corpus: CorpusFingerprint;
}

export interface Network {
  server: CoordinatorServer;
  coordinator: Coordinator;
  runId: string;
  /** Round the run started or resumed at. */
  startRound: number;
  store: RunStore;
  close(): Promise<void>;
}

/**
 * A coordinator on embedded defaults: the latest run in `dataDir`'s SQLite file is resumed from
 * its last checkpoint (rounds after it are forgotten and trained again); otherwise a new run of
 * the preset starts. Volunteers reconnect by themselves.
 */
export async function startNetwork(o: NetworkOptions): Promise<Network> {
  mkdirSync(o.dataDir, { recursive: true });
  const store = new RunStore(join(o.dataDir, 'openshard.sqlite'));
  const corpus = loadCorpus(o.data);
  const fingerprint: CorpusFingerprint = { source: corpus.source, trainBytes: corpus.train.length, trainCrc32: crc32(corpus.train).toString(16) };
  const be = new CpuBackend();
  const latest = store.latestRun();
  let runId: string;
  let spec: RunSpec;
  let run: TrainingRun;
  if (latest) {
    runId = latest.id;
    spec = JSON.parse(latest.spec) as RunSpec;
    if (spec.corpus.trainCrc32 !== fingerprint.trainCrc32) {
      throw new Error(`run ${runId} in ${o.dataDir} was trained on ${spec.corpus.source} (${spec.corpus.trainBytes} bytes), not on ${o.data}; use another --data-dir`);
    }
    const config = preset(spec.preset);
    const options: RunOptions = { ...spec.options, config };
    if (latest.checkpoint) {
      // refuses a checkpoint of any other model, naming both
      const ckpt = loadCheckpoint(latest.checkpoint, config);
      run = new TrainingRun(be, corpus.train, options, {
        round: ckpt.trainer.state.step, sampler: ckpt.trainer.state.sampler,
        values: (name) => ckpt.values.get(name)!, moments: (name) => ckpt.optimizer.moments.get(name)!,
      });
    } else {
      run = new TrainingRun(be, corpus.train, options);
    }
    store.rollbackTo(runId, run.round);
  } else {
    runId = randomUUID();
    const config = preset(o.preset);
    const options: RunOptions = {
      config, shards: o.shards, batch: o.batch, microBatches: o.microBatches, seed: o.seed,
      optimizer: { ...DEFAULT_OPTIMIZER, decaySteps: o.rounds },
    };
    const { config: _, ...saved } = options;
    spec = { preset: o.preset, rounds: o.rounds, options: saved, corpus: fingerprint };
    store.createRun(runId, JSON.stringify(spec), Date.now());
    run = new TrainingRun(be, corpus.train, options);
  }
  const startRound = run.round;
  const runDir = join(o.dataDir, 'runs', runId);
  const checkpoint = async () => {
    const trainer: TrainerFile = { format: TRAINER_FORMAT, backend: 'cpu', state: { step: run.round, sampler: run.samplerAtRoundStart }, options: spec.options, corpus: spec.corpus };
    const path = saveCheckpoint(runDir, { config: run.options.config, values: await run.parameterValues(), optimizer: await run.optimizerState(), trainer });
    store.commitCheckpoint(runId, run.round, path);
  };
  const coordinator: Coordinator = new Coordinator(run, new LeaseScheduler(), runId, {
    roundClosed: async (s, tasks) => {
      const now = Date.now();
      store.closeRound(runId, { round: s.round, loss: s.loss, tokens: s.tokens, closedAt: now }, tasks);
      store.recordMetric(runId, s.round, 'volunteers', coordinator.volunteers.size, now);
      store.recordMetric(runId, s.round, 'maxExposure', coordinator.maxExposure(), now);
      // run.round is now s.round + 1: the checkpoint starts the next round
      if (run.round % o.checkpointEvery === 0 || run.round >= spec.rounds) await checkpoint();
      o.onRound?.(s, coordinator);
      if (run.round >= spec.rounds) o.onFinished?.(coordinator);
    },
    taskAccepted: o.onTaskAccepted,
  }, spec.rounds);
  const server = await startCoordinatorServer(coordinator, { host: o.host, port: o.port });
  return {
    server, coordinator, runId, startRound, store,
    async close() {
      await server.close();
      run.dispose();
      store.close();
    },
  };
}
