import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CheckpointError, CONFIG_FILE, decodeConfig, decodeModel, decodeOptimizer, encodeConfig, encodeModel, encodeOptimizer,
  MODEL_FILE, OPTIMIZER_FILE, type GptConfig, type OptimizerState, type ParameterValues,
} from '@openshard/model';
import type { TrainerState, TrainingOptions } from './trainer.ts';

/** Trainer state beside the model and optimizer files. */
export const TRAINER_FILE = 'trainer.json';
/** A run directory's pointer to its newest complete checkpoint, replaced atomically. */
export const LATEST_FILE = 'latest';
export const CHECKPOINTS_DIR = 'checkpoints';
/** Older checkpoints beyond this many are deleted. */
export const CHECKPOINTS_KEPT = 3;
const TRAINER_FORMAT = 1;

/** Identifies the training text, so a resume on different data is refused. */
export interface CorpusFingerprint {
  source: string;
  trainBytes: number;
  trainCrc32: string;
}

export interface TrainerFile {
  format: number;
  state: TrainerState;
  options: Omit<TrainingOptions, 'config'>;
  corpus: CorpusFingerprint;
}

export interface Checkpoint {
  config: GptConfig;
  values: ParameterValues;
  optimizer: OptimizerState;
  trainer: TrainerFile;
}

/**
 * Writes a checkpoint into `<run>/checkpoints/step-NNNNNN` atomically: files go to a temporary
 * directory that is renamed into place, then `latest` is replaced by rename. A crash at any
 * moment leaves `latest` naming a complete checkpoint.
 */
export function saveCheckpoint(runDir: string, c: Checkpoint): string {
  const root = join(runDir, CHECKPOINTS_DIR);
  mkdirSync(root, { recursive: true });
  const name = `step-${String(c.trainer.state.step).padStart(6, '0')}`;
  const final = join(root, name);
  const temp = join(root, `.${name}.tmp-${process.pid}`);
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(temp);
  writeFileSync(join(temp, CONFIG_FILE), encodeConfig(c.config));
  writeFileSync(join(temp, MODEL_FILE), encodeModel(c.config, c.values));
  writeFileSync(join(temp, OPTIMIZER_FILE), encodeOptimizer(c.config, c.optimizer));
  writeFileSync(join(temp, TRAINER_FILE), JSON.stringify(c.trainer, null, 2) + '\n');
  rmSync(final, { recursive: true, force: true });
  renameSync(temp, final);
  writeFileSync(join(runDir, `${LATEST_FILE}.tmp`), `${CHECKPOINTS_DIR}/${name}\n`);
  renameSync(join(runDir, `${LATEST_FILE}.tmp`), join(runDir, LATEST_FILE));
  const old = readdirSync(root).filter((n) => /^step-\d+$/.test(n)).sort().slice(0, -CHECKPOINTS_KEPT);
  for (const n of old) rmSync(join(root, n), { recursive: true, force: true });
  return final;
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
  let trainer: TrainerFile;
  try {
    trainer = JSON.parse(new TextDecoder().decode(readBytes(dir, TRAINER_FILE)));
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(trainerPath, `is not valid JSON (${(e as Error).message})`);
  }
  if (trainer.format !== TRAINER_FORMAT) throw new CheckpointError(trainerPath, `has format ${trainer.format}; this trainer reads format ${TRAINER_FORMAT}`);
  if (trainer.state?.step !== optimizer.step) {
    throw new CheckpointError(trainerPath, `is at step ${trainer.state?.step} but ${OPTIMIZER_FILE} at step ${optimizer.step}: files from different checkpoints`);
  }
  return { config, values, optimizer, trainer };
}
