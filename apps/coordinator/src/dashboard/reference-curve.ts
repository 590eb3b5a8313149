import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReferencePoint } from '@openshard/protocol';
import type { CorpusFingerprint } from '@openshard/trainer';
import type { RunOptions } from '../training/training-run.ts';

/**
 * The single-process trainer's curve for the same run (`npm run train` writes run.json and
 * metrics.jsonl into its folder): the trainer after step s has the weights the network has after s rounds completed, so the
 * curves must coincide. A folder whose run differs in anything but the shard count is refused,
 * naming the first difference.
 */
export function loadReferenceCurve(folder: string, options: Omit<RunOptions, 'config'>, corpus: CorpusFingerprint): ReferencePoint[] {
  const run = JSON.parse(readFileSync(join(folder, 'run.json'), 'utf8')) as { options?: Record<string, unknown>; corpus?: CorpusFingerprint };
  const theirs = run.options ?? {};
  const ours = options as unknown as Record<string, unknown>;
  for (const key of ['batch', 'microBatches', 'seed', 'optimizer'] as const) {
    if (JSON.stringify(theirs[key]) !== JSON.stringify(ours[key])) {
      throw new Error(`reference ${folder} was trained with ${key} ${JSON.stringify(theirs[key])}, this run with ${JSON.stringify(ours[key])}: the curves would not be comparable`);
    }
  }
  if (run.corpus?.trainCrc32 !== corpus.trainCrc32) throw new Error(`reference ${folder} was trained on ${run.corpus?.source ?? 'unknown data'}, not on ${corpus.source}`);
  const points = new Map<number, ReferencePoint>();
  const lines = readFileSync(join(folder, 'metrics.jsonl'), 'utf8').split('\n');
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    let m: { step?: unknown; loss?: unknown; validationLoss?: unknown };
    try {
      m = JSON.parse(line);
    } catch {
      throw new Error(`reference ${folder}/metrics.jsonl line ${i + 1} is not JSON`);
    }
    if (!Number.isInteger(m.step)) throw new Error(`reference ${folder}/metrics.jsonl line ${i + 1} has step ${JSON.stringify(m.step)}, expected an integer`);
    const p = points.get(m.step as number) ?? { round: m.step as number };
    if (typeof m.loss === 'number' && Number.isFinite(m.loss)) p.loss = m.loss;
    if (typeof m.validationLoss === 'number' && Number.isFinite(m.validationLoss)) p.validationLoss = m.validationLoss;
    points.set(p.round, p);
  }
  return [...points.values()].sort((a, b) => a.round - b.round);
}
