/**
 * One training run of `npm run bench:compression`, in a child process so runs use every core:
 * receives a CompressionJob over IPC, answers with its CompressionRun, and exits.
 */
import { validationBatches } from '@openshard/data';
import { loadBrownCorpus } from '@openshard/data/node';
import { DEFAULT_OPTIMIZER, preset } from '@openshard/model';
import { CpuBackend } from '@openshard/tensor';
import { Trainer } from '../src/trainer.ts';

export interface CompressionJob {
  /** k, or null for the dense model. */
  rank: number | null;
  seed: number;
  shards: number;
  rounds: number;
  batch: number;
  evalEvery: number;
  evalBatches: number;
}

export interface ValidationPoint {
  round: number;
  tokens: number;
  loss: number;
}

export interface CompressionRun {
  job: CompressionJob;
  validation: ValidationPoint[];
  /** Mean training loss of each round, on the micro-batches every variant of this seed sees. */
  trainLoss: number[];
  msPerRound: number;
}

/** The tiny preset on the CPU backend, the optimizer schedule of a short `npm run train`. */
export async function runCompressionJob(job: CompressionJob): Promise<CompressionRun> {
  const config = preset('tiny');
  const corpus = loadBrownCorpus();
  const backend = new CpuBackend();
  const trainer = new Trainer(backend, corpus.train, {
    config,
    shards: job.shards,
    batch: job.batch,
    microBatches: 1,
    seed: job.seed,
    optimizer: { ...DEFAULT_OPTIMIZER, warmupSteps: Math.min(DEFAULT_OPTIMIZER.warmupSteps, Math.floor(job.rounds / 10)), decaySteps: job.rounds },
    boundaryRank: job.rank ?? undefined,
  });
  // the same windows of the validation text for every run
  const batches = validationBatches(corpus.validation, job.batch, config.contextLength, job.evalBatches);
  const validation: ValidationPoint[] = [];
  const evaluate = async () => validation.push({ round: trainer.step, tokens: trainer.step * trainer.tokensPerStep, loss: await trainer.evaluate(batches) });
  const trainLoss: number[] = [];
  let trainingMs = 0;
  try {
    await evaluate();
    while (trainer.step < job.rounds) {
      const r = await trainer.trainStep();
      trainLoss.push(r.loss);
      trainingMs += r.ms;
      if (r.step % job.evalEvery === 0 || r.step === job.rounds) await evaluate();
    }
  } finally {
    trainer.dispose();
    backend.destroy();
  }
  return { job, validation, trainLoss, msPerRound: trainingMs / job.rounds };
}

if (process.send) {
  process.once('message', (job: CompressionJob) => {
    runCompressionJob(job).then(
      (run) => process.send!(run, () => process.exit(0)),
      (e: Error) => {
        console.error(e);
        process.exit(1);
      },
    );
  });
}
