import { decode, encode } from '@openshard/data';
import { partition, Shard } from '@openshard/model';
import { createBackend } from '../backend.ts';
import { loadModel, resolveCheckpoint } from '../checkpoint-files.ts';
import { generate } from '../generate.ts';
import { numberFlag, parseFlags, runMain, UsageError } from './options.ts';

const USAGE = `usage: npm run generate -- --checkpoint RUN_OR_CHECKPOINT_DIR [--prompt "The "] [--tokens 300]
  [--temperature 0.8] [--top-k 40] [--seed 1] [--backend cpu|webgpu]
  --temperature 0 is greedy (deterministic).`;

const FLAGS = {
  checkpoint: { type: 'string' },
  prompt: { type: 'string' },
  tokens: { type: 'string' },
  temperature: { type: 'string' },
  'top-k': { type: 'string' },
  seed: { type: 'string' },
  backend: { type: 'string' },
  help: { type: 'boolean' },
} as const;

async function main(): Promise<void> {
  const f = parseFlags(process.argv.slice(2), FLAGS, USAGE);
  if (f.help) return void console.log(USAGE);
  if (!f.checkpoint) throw new UsageError(`--checkpoint is required\n\n${USAGE}`);
  const dir = resolveCheckpoint(f.checkpoint);
  const { config, values } = loadModel(dir);
  const backend = await createBackend(f.backend ?? 'cpu');
  const shards = partition(config, 1).map((spec) => Shard.fromValues(backend, config, spec, (p) => values.get(p.name)!));
  const prompt = f.prompt ?? 'The ';
  const out = await generate(shards, encode(prompt), {
    maxTokens: numberFlag('tokens', f.tokens, 300, 1),
    temperature: numberFlag('temperature', f.temperature, 0.8, 0, 100, false),
    topK: numberFlag('top-k', f['top-k'], 40, 0, config.vocabSize),
    seed: numberFlag('seed', f.seed, 1, 0, 2 ** 32 - 1),
  });
  console.error(`# ${dir}`);
  process.stdout.write(`${prompt + decode(out)}\n`);
  for (const s of shards) s.dispose();
  backend.destroy();
}

runMain(main);
