import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode, encode, unigramEntropy, validationBatches } from '@openshard/data';
import { loadCorpus } from '@openshard/data/node';
import { crc32, decodeConfig, DEFAULT_OPTIMIZER, describeConfig, parameterCount, parameterSpecs, partition, describeShard, preset, type OptimizerConfig } from '@openshard/model';
import { createBackend } from '../backend.ts';
import { CHECKPOINTS_DIR, LATEST_FILE, latestCheckpoint, loadCheckpoint, saveCheckpoint, TRAINER_FORMAT, type CorpusFingerprint, type TrainerFile } from '../checkpoint-files.ts';
import { generate } from '../generate.ts';
import { modelCard } from '../model-card.ts';
import { Trainer, type TrainingOptions } from '../trainer.ts';
import { numberFlag, parseFlags, runMain, UsageError } from './options.ts';

const USAGE = `usage: npm run train -- [--preset tiny|small|gpt2 | --config config.json] [--steps 2000] [--backend cpu|webgpu] [--shards S]
  [--batch 8] [--micro-batches 1] [--seed 1337] [--lr 1e-3] [--min-lr 1e-4] [--warmup min(100, steps/10)]
  [--eval-every 100] [--eval-batches 16] [--checkpoint-every 250] [--data brown|FILE|FOLDER]
  [--out data/runs/PRESET] [--resume | --overwrite] [--stop-after STEP] [--sample-bytes 300]`;

/** Metrics, one JSON object per line: train steps and validation evaluations. */
const METRICS_FILE = 'metrics.jsonl';
const SAMPLES_FILE = 'samples.txt';
const SAMPLE_PROMPT = 'The ';
/** What a run writes into --out; --overwrite removes these and nothing else. */
const RUN_FILES = [CHECKPOINTS_DIR, LATEST_FILE, METRICS_FILE, 'run.json', SAMPLES_FILE];

const FLAGS = {
  preset: { type: 'string' },
  config: { type: 'string' },
  steps: { type: 'string' },
  backend: { type: 'string' },
  shards: { type: 'string' },
  batch: { type: 'string' },
  'micro-batches': { type: 'string' },
  seed: { type: 'string' },
  lr: { type: 'string' },
  'min-lr': { type: 'string' },
  warmup: { type: 'string' },
  'eval-every': { type: 'string' },
  'eval-batches': { type: 'string' },
  'checkpoint-every': { type: 'string' },
  data: { type: 'string' },
  out: { type: 'string' },
  resume: { type: 'boolean' },
  overwrite: { type: 'boolean' },
  'stop-after': { type: 'string' },
  'sample-bytes': { type: 'string' },
  help: { type: 'boolean' },
} as const;

async function main(): Promise<void> {
  const f = parseFlags(process.argv.slice(2), FLAGS, USAGE);
  if (f.help) return void console.log(USAGE);
  if (f.preset && f.config) throw new UsageError('give --preset or --config, not both');
  if (f.resume && f.overwrite) throw new UsageError('give --resume (continue the run) or --overwrite (start it again), not both');
  // an explicit config is a GPT2Config-style config.json, like the one in every checkpoint
  const presetName = f.config ? 'custom' : (f.preset ?? 'tiny');
  const config = f.config ? decodeConfig(readFileSync(f.config, 'utf8'), f.config) : preset(presetName);
  let steps = numberFlag('steps', f.steps, 2000, 1);
  const evalEvery = numberFlag('eval-every', f['eval-every'], 100, 1);
  const evalBatches = numberFlag('eval-batches', f['eval-batches'], 16, 1);
  const checkpointEvery = numberFlag('checkpoint-every', f['checkpoint-every'], 250, 1);
  const sampleBytes = numberFlag('sample-bytes', f['sample-bytes'], 300, 0);
  const out = f.out ?? join('data', 'runs', presetName);
  const corpus = loadCorpus(f.data ?? 'brown');
  const fingerprint: CorpusFingerprint = { source: corpus.source, trainBytes: corpus.train.length, trainCrc32: crc32(corpus.train).toString(16) };
  const backend = await createBackend(f.backend ?? 'cpu');

  const optimizer: OptimizerConfig = {
    ...DEFAULT_OPTIMIZER,
    learningRate: numberFlag('lr', f.lr, DEFAULT_OPTIMIZER.learningRate, 0, 1, false),
    minLearningRate: numberFlag('min-lr', f['min-lr'], DEFAULT_OPTIMIZER.minLearningRate, 0, 1, false),
    // a short run warms up over its first tenth at most
    warmupSteps: numberFlag('warmup', f.warmup, Math.min(DEFAULT_OPTIMIZER.warmupSteps, Math.floor(steps / 10)), 0),
    decaySteps: steps,
  };
  let options: TrainingOptions = {
    config,
    shards: numberFlag('shards', f.shards, 1, 1, config.layers),
    batch: numberFlag('batch', f.batch, 8, 1),
    microBatches: numberFlag('micro-batches', f['micro-batches'], 1, 1),
    seed: numberFlag('seed', f.seed, 1337, 0, 2 ** 32 - 1),
    optimizer,
  };

  let trainer: Trainer;
  const latest = latestCheckpoint(out);
  if (f.resume) {
    if (!latest) throw new UsageError(`--resume: ${out} holds no checkpoint; start the run without --resume`);
    const ckpt = loadCheckpoint(latest, config);
    refuseChangedOptions(f, ckpt.trainer, fingerprint);
    if (ckpt.trainer.backend !== backend.name) {
      throw new UsageError(`the run was trained on the ${ckpt.trainer.backend} backend; resuming on ${backend.name} would change its numbers (pass --backend ${ckpt.trainer.backend})`);
    }
    options = { ...ckpt.trainer.options, shards: options.shards, config };
    steps = options.optimizer.decaySteps;
    trainer = new Trainer(backend, corpus.train, options, { values: ckpt.values, optimizer: ckpt.optimizer, state: ckpt.trainer.state });
    keepMetricsUpTo(out, trainer.step);
    console.log(`resumed ${latest} at step ${trainer.step}`);
  } else {
    const existing = existsSync(out) ? readdirSync(out) : [];
    if (existing.length && !f.overwrite) {
      throw new UsageError(`${out} is not empty${latest ? ` (it holds a run: ${latest})` : ''}; pass --resume to continue a run, --overwrite to start again, or --out for another folder`);
    }
    // only the run's own files: a folder given by mistake keeps everything else
    for (const name of RUN_FILES) rmSync(join(out, name), { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    trainer = new Trainer(backend, corpus.train, options);
  }
  if (options.optimizer.warmupSteps >= steps) throw new UsageError(`--warmup ${options.optimizer.warmupSteps} must be below --steps ${steps}`);
  if (options.optimizer.minLearningRate > options.optimizer.learningRate) {
    throw new UsageError(`--min-lr ${options.optimizer.minLearningRate} is above --lr ${options.optimizer.learningRate}`);
  }

  const stopAfter = numberFlag('stop-after', f['stop-after'], steps, 1, steps);
  if (stopAfter <= trainer.step) throw new UsageError(`--stop-after ${stopAfter} is not after step ${trainer.step}, where the run stands`);
  const entropy = unigramEntropy(corpus.train);
  const validation = validationBatches(corpus.validation, options.batch, config.contextLength, evalBatches);
  console.log(`model: ${presetName} (${describeConfig(config)}), ${parameterCount(parameterSpecs(config)).toLocaleString('en-US')} parameters`);
  for (const s of partition(config, options.shards)) console.log(`  ${describeShard(s)}`);
  console.log(
    `data: ${corpus.source}, ${corpus.train.length.toLocaleString('en-US')} training bytes (${corpus.trainDocuments} documents), ` +
      `${corpus.validation.length.toLocaleString('en-US')} validation bytes (${corpus.validationDocuments} documents)`,
  );
  console.log(`unigram byte entropy of the training text: ${entropy.toFixed(4)} nats (${(entropy / Math.LN2).toFixed(3)} bits)`);
  console.log(
    `backend: ${backend.name}; ${options.batch} × ${config.contextLength} tokens × ${options.microBatches} micro-batches = ${trainer.tokensPerStep} tokens per step; validation ${validation.length} micro-batches`,
  );
  const { config: _, ...savedOptions } = options;
  writeFileSync(join(out, 'run.json'), `${JSON.stringify({ preset: presetName, config, options: savedOptions, corpus: fingerprint, unigramEntropy: entropy, backend: backend.name }, null, 2)}\n`);

  const log = (entry: object) => appendFileSync(join(out, METRICS_FILE), `${JSON.stringify(entry)}\n`);
  // the latest of each loss, for the model card: from the metrics a resumed run kept, then as they come
  let { validation: lastValidation, train: lastTrain } = latestLosses(out);
  let savedStep = trainer.step;
  const checkpoint = async () => {
    if (savedStep === trainer.step) return;
    const trainerFile: TrainerFile = { format: TRAINER_FORMAT, backend: backend.name, state: trainer.state, options: savedOptions, corpus: fingerprint };
    const card = modelCard({
      name: `openshard-${presetName}`,
      preset: presetName,
      config,
      trainer: { kind: 'trainer', backend: backend.name },
      ...savedOptions,
      steps: trainer.step,
      totalSteps: steps,
      corpus: { ...fingerprint, trainDocuments: corpus.trainDocuments, validationDocuments: corpus.validationDocuments, validationBytes: corpus.validation.length, unigramEntropy: entropy },
      validation: lastValidation,
      trainLoss: lastTrain,
    });
    const path = saveCheckpoint(out, { config, values: await trainer.parameterValues(), optimizer: await trainer.optimizerState(), trainer: trainerFile, card });
    savedStep = trainer.step;
    console.log(`checkpoint ${path}`);
  };
  const evaluate = async () => {
    const validationLoss = await trainer.evaluate(validation);
    log({ step: trainer.step, validationLoss });
    lastValidation = { step: trainer.step, loss: validationLoss };
    console.log(`step ${trainer.step}: validation loss ${validationLoss.toFixed(4)} (unigram entropy ${entropy.toFixed(4)})`);
    return validationLoss;
  };

  let interrupted = false;
  process.on('SIGINT', () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.log('\ninterrupted: finishing this step and saving a checkpoint (Ctrl-C again to quit now)');
  });

  if (trainer.step === 0) await evaluate();
  let validationLoss = NaN;
  while (trainer.step < stopAfter && !interrupted) {
    const r = await trainer.trainStep();
    const tokensPerSecond = (r.tokens / r.ms) * 1000;
    log({ step: r.step, loss: r.loss, learningRate: r.learningRate, tokensPerSecond, ms: r.ms });
    lastTrain = { step: r.step, loss: r.loss };
    console.log(`step ${r.step}/${steps}  loss ${r.loss.toFixed(4)}  lr ${r.learningRate.toExponential(2)}  ${Math.round(tokensPerSecond).toLocaleString('en-US')} tok/s`);
    if (r.step % evalEvery === 0 || r.step === steps) validationLoss = await evaluate();
    if (r.step % checkpointEvery === 0 || r.step === stopAfter) await checkpoint();
  }
  if (interrupted && trainer.step < stopAfter) {
    await checkpoint();
    console.log(`stopped at step ${trainer.step}; continue with --resume`);
  } else if (trainer.step === steps) {
    if (Number.isNaN(validationLoss)) validationLoss = await evaluate();
    const sample = decode(await generate(trainer.shards, encode(SAMPLE_PROMPT), { maxTokens: sampleBytes, temperature: 0.8, topK: 40, seed: 1 }));
    writeFileSync(join(out, SAMPLES_FILE), `${SAMPLE_PROMPT + sample}\n`);
    console.log(
      `\nfinal validation loss ${validationLoss.toFixed(4)} nats/byte vs unigram entropy ${entropy.toFixed(4)}: ` +
        `${(validationLoss / Math.LN2).toFixed(3)} vs ${(entropy / Math.LN2).toFixed(3)} bits per byte`,
    );
    console.log(`sample (temperature 0.8, top-k 40):\n${SAMPLE_PROMPT}${sample}`);
  }
  trainer.dispose();
  backend.destroy();
}

/** A resume continues the run exactly, so anything that changes its course is refused. */
function refuseChangedOptions(f: Record<string, unknown>, saved: TrainerFile, corpus: CorpusFingerprint): void {
  const o = saved.options;
  const checks: [string, unknown, unknown][] = [
    ['batch', f.batch, o.batch],
    ['micro-batches', f['micro-batches'], o.microBatches],
    ['seed', f.seed, o.seed],
    ['lr', f.lr, o.optimizer.learningRate],
    ['min-lr', f['min-lr'], o.optimizer.minLearningRate],
    ['warmup', f.warmup, o.optimizer.warmupSteps],
    ['steps', f.steps, o.optimizer.decaySteps],
  ];
  for (const [flag, given, was] of checks) {
    if (given !== undefined && Number(given) !== was) throw new UsageError(`--${flag} ${given} differs from the run being resumed (${was}); a resume continues the same run`);
  }
  if (corpus.trainCrc32 !== saved.corpus.trainCrc32 || corpus.trainBytes !== saved.corpus.trainBytes) {
    throw new UsageError(`the training text (${corpus.source}, ${corpus.trainBytes} bytes) is not the one this run was trained on (${saved.corpus.source}, ${saved.corpus.trainBytes} bytes)`);
  }
}

/** The last validation and training losses in the metrics file (none when it is missing). */
function latestLosses(out: string): { validation: { step: number; loss: number } | null; train: { step: number; loss: number } | null } {
  const path = join(out, METRICS_FILE);
  const found = { validation: null as { step: number; loss: number } | null, train: null as { step: number; loss: number } | null };
  if (!existsSync(path)) return found;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line) continue;
    const e = JSON.parse(line) as { step: number; loss?: number; validationLoss?: number };
    if (e.validationLoss !== undefined) found.validation = { step: e.step, loss: e.validationLoss };
    if (e.loss !== undefined) found.train = { step: e.step, loss: e.loss };
  }
  return found;
}

/** After a resume, metrics logged past the checkpoint by the interrupted process are dropped. */
function keepMetricsUpTo(out: string, step: number): void {
  const path = join(out, METRICS_FILE);
  if (!existsSync(path)) return;
  const stepOf = (line: string) => {
    try {
      return JSON.parse(line).step as number;
    } catch {
      return Infinity; // a line cut short by the crash
    }
  };
  const kept = readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l && stepOf(l) <= step);
  writeFileSync(path, kept.map((l) => `${l}\n`).join(''));
}

runMain(main);
