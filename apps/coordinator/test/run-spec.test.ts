import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_OPTIMIZER } from '@openshard/model';
import { afterAll, describe, expect, test } from 'vitest';
import { ignoredOnResume, parseRunSpec, type RunSpec } from '../src/run/run-spec.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/** Waiting for the CLI to print what it waits for (ms): tsx, loading the corpus and a validation pass. */
const CLI_OUTPUT_MS = 60_000;

const SPEC: RunSpec = {
  preset: 'micro',
  rounds: 3,
  options: { shards: 2, batch: 1, microBatches: 2, seed: 1337, optimizer: DEFAULT_OPTIMIZER },
  corpus: { source: 'brown', trainBytes: 1, trainCrc32: '0' },
  traffic: 'compact',
};

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('ignoredOnResume', () => {
  test('behavior: each run flag given with another value than the run keeps is named with both values, in flag order', () => {
    const given = { seed: '9', shards: '4', 'micro-batches': '4', batch: '1', preset: 'micro', rounds: '3' };
    expect(ignoredOnResume(given, SPEC)).toEqual(['--shards 4 (the run has 2)', '--micro-batches 4 (the run has 2)', '--seed 9 (the run has 1337)']);
  });

  test('behavior: flags not given, flags with the value the run has, and flags that are not run options are not named', () => {
    expect(ignoredOnResume({}, SPEC)).toEqual([]);
    expect(ignoredOnResume({ preset: 'micro', shards: '2', batch: '1', 'micro-batches': '2', seed: '1337', rounds: '3' }, SPEC)).toEqual([]);
    expect(ignoredOnResume({ port: '0', 'data-dir': '/tmp/x', 'no-verification': true, 'epoch-rounds': '7', shards: undefined }, SPEC)).toEqual([]);
  });

  test('behavior: a new preset, a new length and other traffic are named too', () => {
    expect(ignoredOnResume({ preset: 'tiny', rounds: '2000', traffic: 'exact' }, SPEC)).toEqual([
      '--preset tiny (the run has micro)',
      '--rounds 2000 (the run has 3)',
      '--traffic exact (the run has compact)',
    ]);
    expect(ignoredOnResume({ traffic: 'compact' }, SPEC)).toEqual([]);
  });
});

describe('parseRunSpec', () => {
  test('behavior: a stored spec keeps its traffic; one stored before specs named it trained in exact traffic', () => {
    expect(parseRunSpec(JSON.stringify(SPEC))).toEqual(SPEC);
    const { traffic: _, ...older } = SPEC;
    expect(parseRunSpec(JSON.stringify(older))).toEqual({ ...SPEC, traffic: 'exact' });
  });
});

/** The coordinator CLI (no chain: neither --web nor --local-chain); resolves with its output once it matches `until`, then stops it. */
async function coordinatorOutput(args: string[], until: RegExp): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/coordinator/src/cli.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((r) => child.once('exit', r));
  let output = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the coordinator did not print ${until} in ${CLI_OUTPUT_MS} ms:\n${output}`)), CLI_OUTPUT_MS);
      const take = (d: Buffer) => {
        output += d.toString();
        if (until.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', take);
      child.stderr!.on('data', take);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the coordinator exited with ${code}:\n${output}`));
      });
    });
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  }
  return output;
}

describe('the CLI on a resumed run (real process)', () => {
  test('behavior: run flags given with other values are named as ignored, with the values the run keeps; the others are not', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'openshard-run-spec-'));
    dirs.push(dataDir);
    const common = ['--preset', 'micro', '--rounds', '3', '--port', '0', '--data-dir', dataDir, '--no-verification'];
    const first = await coordinatorOutput([...common, '--shards', '2'], /^coordinator: http:\/\/\S+.*\n/m);
    const runId = /^new run (\S+) \(data in /m.exec(first)?.[1];
    expect(runId, first).toBeDefined();
    expect(first).not.toContain('ignored on resume');

    const resumed = await coordinatorOutput([...common, '--shards', '4', '--seed', '9', '--traffic', 'exact'], /^ignored on resume.*\n/m);
    expect(resumed).toContain(`resumed run ${runId} at round 0`);
    const line = /^ignored on resume.*$/m.exec(resumed)![0];
    expect(line).toBe(
      `ignored on resume (run ${runId} keeps the options it started with; a new run needs another --data-dir): --shards 4 (the run has 2), --seed 9 (the run has 1337), --traffic exact (the run has compact)`,
    );
    expect(line).not.toContain('--rounds');
  });
});
