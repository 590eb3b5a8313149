import { type Corpus, unigramEntropy } from '@openshard/data';
import { TASK_KINDS } from '@openshard/model';
import { modelCard } from '@openshard/trainer';
import type { RunStore } from '../store/stores.ts';
import { STAND_IN_NAME } from '../training/stand-in.ts';
import type { TrainingRun } from '../training/training-run.ts';
import type { RunSpec } from './run-spec.ts';

/**
 * Writes the model card of the checkpoint a network run is about to commit: the weights after
 * `run.round` rounds, with the losses the store holds for those rounds and who did their training
 * tasks (serving left out; the coordinator's own work as a stand-in counted apart), counted in the
 * store rather than by reading the whole task log at every checkpoint.
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
      trainer: { kind: 'network', runId: id, volunteers: await store.contributors(id, round, TASK_KINDS, STAND_IN_NAME), traffic: spec.traffic },
      ...spec.options,
      steps: round,
      totalSteps: spec.rounds,
      corpus: { ...spec.corpus, trainDocuments: corpus.trainDocuments, validationDocuments: corpus.validationDocuments, validationBytes: corpus.validation.length, unigramEntropy: entropy },
      validation: validation ? { step: validation.round, loss: validation.value } : null,
      trainLoss: last ? { step: last.round + 1, loss: last.loss } : null,
    });
  };
}
