import { crc32, DEFAULT_OPTIMIZER, type OptimizerConfig } from '@openshard/model';
import type { Corpus } from '@openshard/data';
import type { Traffic } from '@openshard/protocol';
import type { CorpusFingerprint } from '@openshard/trainer';
import type { RunOptions } from '../training/training-run.ts';

/** What a run is, stored with it so a restarted coordinator resumes the same run. */
export interface RunSpec {
  preset: string;
  /** Rounds the run lasts: the learning rate decays over them, and no task of a later round is issued. */
  rounds: number;
  options: Omit<RunOptions, 'config'>;
  corpus: CorpusFingerprint;
  /** What crosses the wire: kept for the run, so its model card can say how every step was taken. */
  traffic: Traffic;
}

/**
 * A stored spec as a RunSpec. A spec without traffic is taken as exact: every released version
 * before specs named it trained in exact traffic only (compact came with them).
 */
export function parseRunSpec(json: string): RunSpec {
  const spec = JSON.parse(json) as Omit<RunSpec, 'traffic'> & { traffic?: Traffic };
  return { ...spec, traffic: spec.traffic ?? 'exact' };
}

/** The trainer CLI's schedule for this many steps, so `npm run train` with the same numbers is a network run's reference. */
export function runOptimizer(rounds: number): OptimizerConfig {
  return { ...DEFAULT_OPTIMIZER, warmupSteps: Math.min(DEFAULT_OPTIMIZER.warmupSteps, Math.floor(rounds / 10)), decaySteps: rounds };
}

/** Which text a run trains on: a resumed run refuses any other. */
export function corpusFingerprint(corpus: Corpus): CorpusFingerprint {
  return { source: corpus.source, trainBytes: corpus.train.length, trainCrc32: crc32(corpus.train).toString(16) };
}

/** The run options a resumed run keeps, as their flags. */
const RUN_FLAGS = [
  ['preset', (s: RunSpec) => s.preset],
  ['shards', (s: RunSpec) => s.options.shards],
  ['batch', (s: RunSpec) => s.options.batch],
  ['micro-batches', (s: RunSpec) => s.options.microBatches],
  ['seed', (s: RunSpec) => s.options.seed],
  ['rounds', (s: RunSpec) => s.rounds],
  ['traffic', (s: RunSpec) => s.traffic],
] as const;

/**
 * The run flags given on the command line that a resumed run ignores because it keeps the value
 * it started with, each as `--flag given (the run has kept)`.
 */
export function ignoredOnResume(given: Readonly<Record<string, unknown>>, spec: RunSpec): string[] {
  return RUN_FLAGS.flatMap(([flag, kept]) => {
    const value = given[flag];
    const same = typeof kept(spec) === 'number' ? Number(value) === kept(spec) : value === kept(spec);
    return typeof value === 'string' && !same ? [`--${flag} ${value} (the run has ${kept(spec)})`] : [];
  });
}
