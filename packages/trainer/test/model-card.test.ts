import { DEFAULT_OPTIMIZER, parameterCount, parameterSpecs, preset } from '@openshard/model';
import { describe, expect, test } from 'vitest';
import { ModelCardError, modelCard, type ModelCardFacts, type VolunteerCount } from '../src/model-card.ts';

const facts = (over: Partial<ModelCardFacts> = {}): ModelCardFacts => ({
  name: 'openshard-tiny',
  preset: 'tiny',
  config: preset('tiny'),
  trainer: { kind: 'network', runId: 'run-7f3a', volunteers: { tasks: 840, names: 5, wallets: 3, standInTasks: 12 }, traffic: 'compact' },
  shards: 4,
  batch: 4,
  microBatches: 3,
  seed: 1337,
  optimizer: { ...DEFAULT_OPTIMIZER, warmupSteps: 20, decaySteps: 200 },
  steps: 120,
  totalSteps: 200,
  corpus: { source: 'brown', trainBytes: 5_432_101, trainCrc32: '9c1e22ab', trainDocuments: 450, validationDocuments: 50, validationBytes: 601_234, unigramEntropy: 3.0123 },
  validation: { step: 120, loss: 2.34567 },
  trainLoss: { step: 120, loss: 2.41234 },
  ...over,
});

/** The YAML between the first two `---` lines, as key → scalar or list (all the card uses). */
function frontMatter(card: string): Record<string, string | string[]> {
  const lines = card.split('\n');
  expect(lines[0]).toBe('---');
  const end = lines.indexOf('---', 1);
  expect(end).toBeGreaterThan(1);
  const out: Record<string, string | string[]> = {};
  let list: string[] | null = null;
  for (const line of lines.slice(1, end)) {
    const item = /^- (\S.*)$/.exec(line);
    const pair = /^([a-z_]+):(?: (\S.*))?$/.exec(line);
    if (item && list) list.push(item[1]);
    else if (pair && pair[2] !== undefined) out[pair[1]] = pair[2];
    else if (pair) out[pair[1]] = list = [];
    else throw new Error(`not YAML the card should write: '${line}'`);
  }
  return out;
}

describe('modelCard', () => {
  test('behavior: the front matter is Hugging Face metadata: transformers, text generation, tags', () => {
    const meta = frontMatter(modelCard(facts()));
    expect(meta.library_name).toBe('transformers');
    expect(meta.pipeline_tag).toBe('text-generation');
    expect(meta.tags).toEqual(['gpt2', 'text-generation', 'byte-level', 'openshard', 'volunteer-computing']);
    // the repository states no license, so the card claims none
    expect(meta).not.toHaveProperty('license');
  });

  test('behavior: every number it was given is in the card, and the ones derived from them', () => {
    const card = modelCard(facts());
    const tiny = preset('tiny');
    for (const text of [
      '# openshard-tiny, round 120 of 200',
      '| preset | `tiny` |',
      `| layers · width · heads | ${tiny.layers} · ${tiny.width} · ${tiny.heads} |`,
      `| context | ${tiny.contextLength} tokens (bytes) |`,
      '| vocabulary | 256 (one id per byte value) |',
      `| parameters | ${parameterCount(parameterSpecs(tiny)).toLocaleString('en-US')} (float32) |`,
      'run `run-7f3a`',
      'into 4 shards',
      '- rounds: 120 of 200',
      // 120 rounds × 4 × 64 × 3
      '- tokens trained: 92,160 (4 sequences × 64 bytes × 3 micro-batches = 768 tokens per round)',
      'then a cosine decay to 0.0001 at step 200',
      'over 20 steps',
      '- seed: 1337',
      'The Brown corpus',
      '5,432,101 bytes of training text in 450 documents (CRC-32 `9c1e22ab`)',
      '601,234 bytes in 50 documents held out for validation (every 10th document by name',
      '0.02 passes over it',
      '| validation loss | 2.3457 after round 120 |',
      '| training loss | 2.4123 in round 120 |',
      '| unigram entropy of the training text | 3.0123',
      'rounds 1–120 (840 tasks',
      '**5 distinct volunteer names**',
      'and 3 distinct signed-in wallets',
      '12 of the tasks were computed by the coordinator itself',
      'GPT2LMHeadModel.from_pretrained("path/to/this/folder")',
      'list("The ".encode("utf-8"))',
      'max_new_tokens=60,',
      '80 rounds remain',
    ]) {
      expect(card).toContain(text);
    }
    expect(card).not.toContain('NaN');
    expect(card).not.toContain('undefined');
  });

  test('behavior: a validation not measured at the checkpoint says when it was; none and no rounds say so', () => {
    expect(modelCard(facts({ validation: { step: 100, loss: 2.5 } }))).toContain('| validation loss | 2.5000 after round 100 (not measured at round 120) |');
    const fresh = modelCard(
      facts({ steps: 0, validation: null, trainLoss: null, trainer: { kind: 'network', runId: 'r', volunteers: { tasks: 0, names: 0, wallets: 0, standInTasks: 0 }, traffic: 'exact' } }),
    );
    expect(fresh).toContain('| validation loss | not measured yet |');
    expect(fresh).toContain('| training loss | none yet (no round trained) |');
    expect(fresh).toContain('of no rounds yet (0 tasks');
    expect(fresh).not.toContain('computed by the coordinator itself');
  });

  test("behavior: the trainer's card speaks of steps and its backend, and has no volunteers", () => {
    const card = modelCard(facts({ trainer: { kind: 'trainer', backend: 'webgpu' }, steps: 200 }));
    expect(card).toContain('# openshard-tiny, step 200 of 200');
    expect(card).toContain('(the run is complete)');
    expect(card).toContain('on the webgpu backend');
    expect(card).not.toContain('## Volunteers');
    expect(card).not.toContain('remain');
    expect(frontMatter(card).tags).not.toContain('volunteer-computing');
  });

  test('behavior: a network card says what crossed the wire: exact traffic claims the single-process steps, compact traffic does not', () => {
    const network = { kind: 'network', runId: 'r', volunteers: { tasks: 1, names: 1, wallets: 0, standInTasks: 0 } } as const;
    const exact = modelCard(facts({ trainer: { ...network, traffic: 'exact' } }));
    expect(exact).toContain("the steps OpenShard's single-process trainer takes with the same options");
    expect(exact).toContain('Everything crossed the wire in float32.');
    expect(exact).not.toContain('q8');
    const compact = modelCard(facts({ trainer: { ...network, traffic: 'compact' } }));
    expect(compact).toContain('Traffic was compact');
    expect(compact).toContain('close to, not bit for bit,');
    expect(compact).toContain('int8 rows with a float32 scale (q8) on the wire');
    expect(compact).not.toContain("the steps OpenShard's single-process trainer takes");
    const unnamed = { ...network, traffic: 'lossy' } as unknown as ModelCardFacts['trainer'];
    expect(() => modelCard(facts({ trainer: unnamed }))).toThrow(new ModelCardError(`model card of openshard-tiny: 'trainer.traffic' is "lossy", expected 'exact' or 'compact'`));
  });

  test('behavior: with a vocabulary wider than bytes, generation suppresses the ids no byte has', () => {
    const card = modelCard(facts({ config: preset('gpt2'), preset: 'gpt2' }));
    expect(card).toContain('| vocabulary | 50,257 (only ids 0–255, the bytes, were trained) |');
    expect(card).toContain('suppress_tokens=list(range(256, 50257))');
    expect(card).toContain('max_new_tokens=200,');
  });

  test('error: a missing or non-finite number is refused by name, never written as NaN', () => {
    expect(() => modelCard(facts({ validation: { step: 120, loss: Number.NaN } }))).toThrow(new ModelCardError("model card of openshard-tiny: 'validation.loss' is NaN, expected a finite number"));
    expect(() => modelCard(facts({ seed: undefined as unknown as number }))).toThrow("'seed' is undefined");
    const noWallets = { tasks: 1, names: 1, standInTasks: 0 } as unknown as VolunteerCount;
    expect(() => modelCard(facts({ trainer: { kind: 'network', runId: 'r', volunteers: noWallets, traffic: 'exact' } }))).toThrow("'volunteers.wallets' is undefined");
    expect(() => modelCard(facts({ corpus: { ...facts().corpus, trainCrc32: '' } }))).toThrow('\'corpus.trainCrc32\' is ""');
  });
});
