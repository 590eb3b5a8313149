import { randomUUID } from 'node:crypto';
import { loadCorpus } from '@openshard/data/node';
import { DEFAULT_OPTIMIZER, preset } from '@openshard/model';
import { CpuBackend } from '@openshard/tensor';
import { Coordinator } from './coordinator.ts';
import { LeaseScheduler } from './scheduler/leases.ts';
import { startCoordinatorServer, type CoordinatorServer } from './server.ts';
import { TrainingRun, type RoundSummary } from './training/training-run.ts';

export interface NetworkOptions {
  preset: string;
  shards: number;
  batch: number;
  microBatches: number;
  seed: number;
  /** The learning rate decays over this many rounds. */
  rounds: number;
  data: string;
  host: string;
  port: number;
  onRound?: (s: RoundSummary, c: Coordinator) => void;
}

export const DEFAULT_NETWORK: NetworkOptions = {
  preset: 'tiny', shards: 4, batch: 4, microBatches: 4, seed: 1337, rounds: 2000, data: 'brown', host: '127.0.0.1', port: 8600,
};

/** A coordinator training a fresh run of the given preset on the given text, listening for volunteers. */
export async function startNetwork(o: NetworkOptions): Promise<{ server: CoordinatorServer; coordinator: Coordinator }> {
  const config = preset(o.preset);
  const corpus = loadCorpus(o.data);
  const run = new TrainingRun(new CpuBackend(), corpus.train, {
    config, shards: o.shards, batch: o.batch, microBatches: o.microBatches, seed: o.seed,
    optimizer: { ...DEFAULT_OPTIMIZER, decaySteps: o.rounds },
  });
  let coordinator: Coordinator;
  coordinator = new Coordinator(run, new LeaseScheduler(), randomUUID(), { roundClosed: (s) => o.onRound?.(s, coordinator) });
  const server = await startCoordinatorServer(coordinator, { host: o.host, port: o.port });
  return { server, coordinator };
}
