import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CheckpointError,
  CONFIG_FILE,
  decodeConfig,
  decodeModel,
  decodeOptimizer,
  encodeConfig,
  encodeModel,
  encodeOptimizer,
  MODEL_FILE,
  OPTIMIZER_FILE,
  type GptConfig,
  type OptimizerState,
  type ParameterValues,
} from '@openshard/model';
import type { TrainerState, TrainingOptions } from './trainer.ts';

/** Trainer state beside the model and optimizer files. */
export const TRAINER_FILE = 'trainer.json';
/** The Hugging Face model card (`modelCard`) beside the model, when the writer was given one. */
export const MODEL_CARD_FILE = 'README.md';
/** A run directory's pointer to its newest complete checkpoint, replaced atomically. */
export const LATEST_FILE = 'latest';
export const CHECKPOINTS_DIR = 'checkpoints';
/** Older checkpoints beyond this many are deleted. */
export const CHECKPOINTS_KEPT = 3;
export const TRAINER_FORMAT = 1;

/** Identifies the training text, so a resume on different data is refused. */
export interface CorpusFingerprint {
  source: string;
  trainBytes: number;
  trainCrc32: string;
}

export interface TrainerFile {
  format: number;
  /** The backend the run trained on: resuming on another would change its numbers. */
  backend: 'cpu' | 'webgpu';
  state: TrainerState;
  options: Omit<TrainingOptions, 'config'>;
  corpus: CorpusFingerprint;
}

export interface Checkpoint {
  config: GptConfig;
  values: ParameterValues;
  optimizer: OptimizerState;
  trainer: TrainerFile;
  /** The model card's markdown, written as MODEL_CARD_FILE with the other files. */
  card?: string;
}

/**
 * Writes a checkpoint into `<run>/checkpoints/step-NNNNNN` atomically: files go to a temporary
 * directory that is renamed into place, then `latest` is replaced by rename. A process crash at
 * any moment leaves `latest` naming a complete checkpoint (nothing is fsynced: a power cut may
 * not). A step already checkpointed is not written again: a run is deterministic, so it holds
 * the same state, and the folder `latest` may name is never deleted.
 */
export function saveCheckpoint(runDir: string, c: Checkpoint): string {
  const root = join(runDir, CHECKPOINTS_DIR);
  mkdirSync(root, { recursive: true });
  const name = `step-${String(c.trainer.state.step).padStart(6, '0')}`;
  const final = join(root, name);
  if (existsSync(final)) {
    pointLatest(runDir, name);
    return final;
  }
  const temp = join(root, `.${name}.tmp-${process.pid}`);
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(temp);
  writeFileSync(join(temp, CONFIG_FILE), encodeConfig(c.config));
  writeFileSync(join(temp, MODEL_FILE), encodeModel(c.config, c.values));
  writeFileSync(join(temp, OPTIMIZER_FILE), encodeOptimizer(c.config, c.optimizer));
  writeFileSync(join(temp, TRAINER_FILE), `${JSON.stringify(c.trainer, null, 2)}\n`);
  if (c.card !== undefined) writeFileSync(join(temp, MODEL_CARD_FILE), c.card);
  renameSync(temp, final);
  pointLatest(runDir, name);
  const byStep = readdirSync(root)
    .filter((n) => /^step-\d+$/.test(n))
    .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
  for (const n of byStep.slice(0, -CHECKPOINTS_KEPT)) if (n !== name) rmSync(join(root, n), { recursive: true, force: true });
  return final;
}

/**
 * Deletes the checkpoints of steps after `step`: a past that was undone (a rewind found a cheat
 * in it), which a later save of the same step must not reuse. Call it once `latest` names a step
 * at or before `step`.
 */
export function forgetCheckpointsAfter(runDir: string, step: number): void {
  const root = join(runDir, CHECKPOINTS_DIR);
  if (!existsSync(root)) return;
  for (const n of readdirSync(root)) if (/^step-\d+$/.test(n) && Number(n.slice(5)) > step) rmSync(join(root, n), { recursive: true, force: true });
}

function pointLatest(runDir: string, name: string): void {
  writeFileSync(join(runDir, `${LATEST_FILE}.tmp`), `${CHECKPOINTS_DIR}/${name}\n`);
  renameSync(join(runDir, `${LATEST_FILE}.tmp`), join(runDir, LATEST_FILE));
}

/** The newest complete checkpoint of a run directory, or null if it has none. */
export function latestCheckpoint(runDir: string): string | null {
  const pointer = join(runDir, LATEST_FILE);
  if (!existsSync(pointer)) return null;
  return join(runDir, readFileSync(pointer, 'utf8').trim());
}

/** A checkpoint directory, or a run directory (its latest checkpoint). */
export function resolveCheckpoint(path: string): string {
  if (existsSync(join(path, MODEL_FILE))) return path;
  const latest = latestCheckpoint(path);
  if (latest) return latest;
  throw new CheckpointError(path, `holds neither ${MODEL_FILE} nor a '${LATEST_FILE}' pointer to a checkpoint`);
}

function readBytes(dir: string, file: string): Uint8Array {
  const path = join(dir, file);
  if (!existsSync(path)) throw new CheckpointError(path, 'is missing');
  return readFileSync(path);
}

/** Model weights and config only (generation, or loading a checkpoint made elsewhere). */
export function loadModel(dir: string, expected?: GptConfig): { config: GptConfig; values: ParameterValues } {
  const config = decodeConfig(new TextDecoder().decode(readBytes(dir, CONFIG_FILE)), join(dir, CONFIG_FILE));
  const values = decodeModel(readBytes(dir, MODEL_FILE), config, expected ?? config, join(dir, MODEL_FILE));
  return { config, values };
}

export function loadCheckpoint(dir: string, expected?: GptConfig): Checkpoint {
  const { config, values } = loadModel(dir, expected);
  const optimizer = decodeOptimizer(readBytes(dir, OPTIMIZER_FILE), config, join(dir, OPTIMIZER_FILE));
  const trainerPath = join(dir, TRAINER_FILE);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(readBytes(dir, TRAINER_FILE)));
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(trainerPath, `is not valid JSON (${(e as Error).message})`);
  }
  const trainer = parseTrainerFile(json, trainerPath);
  if (trainer.state.step !== optimizer.step) {
    throw new CheckpointError(trainerPath, `is at step ${trainer.state?.step} but ${OPTIMIZER_FILE} at step ${optimizer.step}: files from different checkpoints`);
  }
  return { config, values, optimizer, trainer };
}

/** Checks every field of trainer.json; a CheckpointError names the first one that is wrong. */
export function parseTrainerFile(json: unknown, path: string): TrainerFile {
  const fail = (field: string, value: unknown, expected: string): never => {
    throw new CheckpointError(path, `'${field}' is ${JSON.stringify(value)}, expected ${expected}`);
  };
  const at = (o: unknown, key: string): unknown => (typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[key] : undefined);
  const int = (field: string, v: unknown, min = 0) => (Number.isInteger(v) && (v as number) >= min ? (v as number) : fail(field, v, `an integer ≥ ${min}`));
  const num = (field: string, v: unknown, min: number, max: number) => (typeof v === 'number' && v >= min && v <= max ? v : fail(field, v, `a number in [${min}, ${max}]`));
  const str = (field: string, v: unknown) => (typeof v === 'string' ? v : fail(field, v, 'a string'));
  if (typeof json !== 'object' || json === null) fail('(file)', json, 'a JSON object');
  if (at(json, 'format') !== TRAINER_FORMAT) fail('format', at(json, 'format'), `${TRAINER_FORMAT}`);
  const backend = at(json, 'backend');
  if (backend !== 'cpu' && backend !== 'webgpu') fail('backend', backend, '"cpu" or "webgpu"');
  const state = at(json, 'state');
  const sampler = at(state, 'sampler');
  const options = at(json, 'options');
  const o = at(options, 'optimizer');
  const corpus = at(json, 'corpus');
  return {
    format: TRAINER_FORMAT,
    backend: backend as 'cpu' | 'webgpu',
    state: { step: int('state.step', at(state, 'step')), sampler: { epoch: int('state.sampler.epoch', at(sampler, 'epoch')), cursor: int('state.sampler.cursor', at(sampler, 'cursor')) } },
    options: {
      shards: int('options.shards', at(options, 'shards'), 1),
      batch: int('options.batch', at(options, 'batch'), 1),
      microBatches: int('options.microBatches', at(options, 'microBatches'), 1),
      seed: int('options.seed', at(options, 'seed')),
      optimizer: {
        learningRate: num('options.optimizer.learningRate', at(o, 'learningRate'), 0, 1),
        minLearningRate: num('options.optimizer.minLearningRate', at(o, 'minLearningRate'), 0, 1),
        warmupSteps: int('options.optimizer.warmupSteps', at(o, 'warmupSteps')),
        decaySteps: int('options.optimizer.decaySteps', at(o, 'decaySteps'), 1),
        beta1: num('options.optimizer.beta1', at(o, 'beta1'), 0, 0.999999),
        beta2: num('options.optimizer.beta2', at(o, 'beta2'), 0, 0.999999),
        eps: num('options.optimizer.eps', at(o, 'eps'), 0, 1),
        weightDecay: num('options.optimizer.weightDecay', at(o, 'weightDecay'), 0, 1),
      },
    },
    corpus: { source: str('corpus.source', at(corpus, 'source')), trainBytes: int('corpus.trainBytes', at(corpus, 'trainBytes')), trainCrc32: str('corpus.trainCrc32', at(corpus, 'trainCrc32')) },
  };
}
