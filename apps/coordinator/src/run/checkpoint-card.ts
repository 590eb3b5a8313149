import { type Corpus, unigramEntropy } from '@openshard/data';
import { TASK_KINDS } from '@openshard/model';
import { modelCard, type VolunteerCount } from '@openshard/trainer';
import type { RunStore, TaskRecord } from '../store/stores.ts';
import { STAND_IN_NAME } from '../training/stand-in.ts';
import type { TrainingRun } from '../training/training-run.ts';
import type { RunSpec } from './run-spec.ts';

const TRAINING_KINDS: ReadonlySet<string> = new Set(TASK_KINDS);

/**
 * Who contributed the accepted training tasks of rounds before `beforeRound` (the rounds a
 * checkpoint's weights come from), from the task log: serving work is left out, and the
 * coordinator's own work as a stand-in is counted apart from the volunteers.
 */
export function volunteerCount(tasks: readonly TaskRecord[], beforeRound: number): VolunteerCount {
  const names = new Set<string>();
  const wallets = new Set<string>();
  let count = 0;
  let standInTasks = 0;
  for (const t of tasks) {
    if (t.round >= beforeRound || !TRAINING_KINDS.has(t.kind)) continue;
    count++;
    if (t.volunteer === STAND_IN_NAME) {
      standInTasks++;
      continue;
    }
    names.add(t.volunteer);
    if (t.address) wallets.add(t.address.toLowerCase());
  }
  return { tasks: count, names: names.size, wallets: wallets.size, standInTasks };
}

/**
 * Writes the model card of the checkpoint a network run is about to commit: the weights after
 * `run.round` rounds, with the losses and the task log the store holds for those rounds.
 */
export function networkCardWriter(store: RunStore, corpus: Corpus): (o: { id: string; spec: RunSpec; run: TrainingRun }) => Promise<string> {
  let entropy: number | null = null;
  return async ({ id, spec, run }) => {
    entropy ??= unigramEntropy(corpus.train);
    const round = run.round;
    const validation = (await store.metrics(id, 'validationLoss')).filter((m) => m.round <= round).at(-1);
    // the store numbers rounds from 0; the card, like the dashboard, by rounds completed
    const last = (await store.rounds(id)).filter((r) => r.round < round).at(-1);
    return modelCard({
      name: `openshard-${spec.preset}`,
      preset: spec.preset,
      config: run.options.config,
      trainer: { kind: 'network', runId: id, volunteers: volunteerCount(await store.tasks(id), round) },
      ...spec.options,
      steps: round,
      totalSteps: spec.rounds,
      corpus: { ...spec.corpus, trainDocuments: corpus.trainDocuments, validationDocuments: corpus.validationDocuments, validationBytes: corpus.validation.length, unigramEntropy: entropy },
      validation: validation ? { step: validation.round, loss: validation.value } : null,
      trainLoss: last ? { step: last.round + 1, loss: last.loss } : null,
    });
  };
}
