import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';

const root = mkdtempSync(join(tmpdir(), 'openshard-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// a small corpus folder, so the test is about the trainer and not the Brown corpus's size
const corpus = join(root, 'corpus');
mkdirSync(join(corpus, 'more'), { recursive: true });
writeFileSync(join(corpus, 'a.txt'), 'The quick brown fox jumps over the lazy dog. '.repeat(40));
writeFileSync(join(corpus, 'more', 'b.txt'), 'Pack my box with five dozen liquor jugs. '.repeat(40));

const FAST = ['--preset', 'tiny', '--batch', '1', '--steps', '4', '--eval-every', '2', '--eval-batches', '1', '--checkpoint-every', '2', '--sample-bytes', '8', '--data', corpus];

function cli(script: 'train' | 'generate', args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', `packages/trainer/src/cli/${script}.ts`, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function trainLosses(dir: string): number[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((e) => 'loss' in e)
    .map((e) => e.loss);
}

describe('npm run train / generate', () => {
  test('behavior: --stop-after then --resume logs the same losses as a run that never stopped', () => {
    const straight = join(root, 'straight');
    const stopped = join(root, 'stopped');
    const a = cli('train', [...FAST, '--out', straight]);
    expect(a.out).toContain('unigram byte entropy of the training text');
    expect(a.code, a.err).toBe(0);
    expect(a.out).toContain('final validation loss');
    expect(cli('train', [...FAST, '--out', stopped, '--stop-after', '2']).code).toBe(0);
    const r = cli('train', ['--preset', 'tiny', '--eval-batches', '1', '--sample-bytes', '8', '--data', corpus, '--out', stopped, '--resume']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('at step 2');
    expect(trainLosses(stopped)).toHaveLength(4);
    expect(trainLosses(stopped)).toEqual(trainLosses(straight));
    // the model card: the final losses as logged, and the same card whether or not the run stopped
    const card = readFileSync(join(straight, 'checkpoints', 'step-000004', 'README.md'), 'utf8');
    const validation = readFileSync(join(straight, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((e) => 'validationLoss' in e)
      .at(-1);
    expect(validation.step).toBe(4);
    expect(card).toContain('# openshard-tiny, step 4 of 4');
    expect(card).toContain(`| validation loss | ${validation.validationLoss.toFixed(4)} after step 4 |`);
    expect(card).toContain(`| training loss | ${trainLosses(straight)[3].toFixed(4)} in step 4 |`);
    expect(readFileSync(join(stopped, 'checkpoints', 'step-000004', 'README.md'), 'utf8')).toBe(card);
  });

  test('behavior: generate is deterministic at temperature 0 and reads a run folder or a checkpoint folder', () => {
    const dir = join(root, 'straight');
    const g1 = cli('generate', ['--checkpoint', dir, '--prompt', 'The', '--tokens', '6', '--temperature', '0']);
    const g2 = cli('generate', ['--checkpoint', join(dir, 'checkpoints', 'step-000004'), '--prompt', 'The', '--tokens', '6', '--temperature', '0']);
    expect(g1.code, g1.err).toBe(0);
    expect(g1.out).toMatch(/^The/);
    expect(Buffer.byteLength(g1.out)).toBeGreaterThanOrEqual(3 + 1);
    expect(g2.out).toBe(g1.out);
  });

  test('error: misuse is refused with a message that says what to do', () => {
    const empty = cli('train', [...FAST, '--out', join(root, 'nothing'), '--resume']);
    expect(empty.code).toBe(1);
    expect(empty.err).toContain('holds no checkpoint; start the run without --resume');
    expect(cli('train', [...FAST, '--out', join(root, 'straight')]).err).toContain('is not empty (it holds a run: ');
    expect(cli('train', [...FAST, '--out', join(root, 'straight'), '--resume', '--batch', '2']).err).toContain('--batch 2 differs from the run being resumed (1)');
    expect(cli('train', ['--steps', 'abc']).err).toContain("--steps is 'abc'; it must be an integer at least 1");
    expect(cli('train', ['--preset', 'huge']).err).toContain("unknown preset 'huge'; choose one of micro, tiny, small, gpt2");
    expect(cli('train', ['--bogus']).err).toContain("Unknown option '--bogus'");
    writeFileSync(join(root, 'odd.json'), JSON.stringify({ model_type: 'gpt2', vocab_size: 256, n_positions: 16, n_layer: 2, n_head: 3, n_embd: 32 }));
    expect(cli('train', ['--config', join(root, 'odd.json')]).err).toContain('config.width 32 is not divisible by config.heads 3');
    expect(cli('generate', ['--checkpoint', root]).err).toContain(`neither model.safetensors nor a 'latest' pointer`);
    expect(cli('train', [...FAST, '--out', join(root, 'straight'), '--resume', '--backend', 'webgpu']).err).toContain('the run was trained on the cpu backend');
    expect(cli('train', [...FAST, '--out', join(root, 'w'), '--warmup', '4']).err).toContain('--warmup 4 must be below --steps 4');
    expect(cli('train', [...FAST, '--out', join(root, 'w'), '--min-lr', '0.5']).err).toContain('--min-lr 0.5 is above --lr 0.001');
    expect(cli('train', [...FAST, '--out', join(root, 'straight'), '--resume', '--stop-after', '3']).err).toContain('--stop-after 3 is not after step 4');
  });

  test("behavior: a folder that is not a run is never emptied; --overwrite removes only the run's own files", () => {
    const mine = join(root, 'mine');
    mkdirSync(mine);
    writeFileSync(join(mine, 'thesis.tex'), 'years of work');
    const refused = cli('train', [...FAST, '--out', mine]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain(`${mine} is not empty; pass --resume to continue a run, --overwrite to start again`);
    expect(cli('train', [...FAST, '--out', mine, '--overwrite', '--stop-after', '2']).code).toBe(0);
    expect(cli('train', [...FAST, '--out', mine, '--overwrite', '--stop-after', '2']).code).toBe(0);
    expect(readFileSync(join(mine, 'thesis.tex'), 'utf8')).toBe('years of work');
  });
});
