import type { CheckpointView, DashboardEvent, RoundPoint, RunInfo, ValidationPoint } from '@openshard/protocol';
import { describe, expect, test } from 'vitest';
import { checkpointRefreshKey, checkpointSummary, describeCheckpointFile, parseCheckpointView, runCompletion } from '../src/dashboard/checkpoint.ts';

const run = { id: 'run-1', rounds: 6 } as RunInfo;
const round = (r: number): RoundPoint => ({ round: r, loss: 3, tokens: 64, closedAt: 1_000 * r });
const measured = (r: number, loss: number): ValidationPoint => ({ round: r, loss, at: 1_000 * r });
const checkpoint = (r: number, validation: ValidationPoint | null = measured(r, 2.5)): CheckpointView => ({
  round: r,
  name: `step-${String(r).padStart(6, '0')}`,
  validation,
  files: [
    { name: 'model.safetensors', bytes: 3_400_000, url: '/checkpoints/latest/model.safetensors' },
    { name: 'config.json', bytes: 500, url: '/checkpoints/latest/config.json' },
    { name: 'README.md', bytes: 4_000, url: '/checkpoints/latest/README.md' },
  ],
});
const event = (kind: DashboardEvent['kind'], at: number): DashboardEvent => ({ kind, at, text: kind });

describe('runCompletion', () => {
  test('behavior: not complete until the last round has closed', () => {
    expect(runCompletion(run, [], [], null)).toEqual({ complete: false });
    expect(runCompletion(run, [1, 2, 3, 4, 5].map(round), [measured(4, 2.6)], checkpoint(4))).toEqual({ complete: false });
  });

  test('behavior: complete after the last round, with the final validation loss and the final checkpoint once committed', () => {
    const rounds = [1, 2, 3, 4, 5, 6].map(round);
    const validation = [measured(0, 5.5), measured(4, 2.6), measured(6, 2.3456)];
    expect(runCompletion(run, rounds, validation, checkpoint(6))).toEqual({ complete: true, text: 'Run complete: 6 rounds, final validation loss 2.346', checkpoint: checkpoint(6) });
    // the last round closed, its checkpoint not committed yet: the earlier one is not called final
    expect(runCompletion(run, rounds, validation, checkpoint(4))).toMatchObject({ complete: true, checkpoint: null });
    expect(runCompletion(run, rounds, validation.slice(0, 2), null)).toMatchObject({ text: 'Run complete: 6 rounds, final validation loss not measured yet' });
    expect(runCompletion({ ...run, rounds: 1 }, [round(1)], [], null)).toMatchObject({ text: 'Run complete: 1 round, final validation loss not measured yet' });
  });
});

describe('the checkpoint line', () => {
  test('behavior: round and validation loss, and when the loss was measured before the checkpoint', () => {
    expect(checkpointSummary(checkpoint(6))).toBe('round 6 · validation loss 2.500');
    expect(checkpointSummary(checkpoint(6, measured(4, 2.61)))).toBe('round 6 · validation loss 2.610 (measured at round 4)');
    expect(checkpointSummary(checkpoint(0, null))).toBe('round 0 · validation loss not measured');
    expect(checkpoint(6).files.map((f) => describeCheckpointFile(f.name))).toEqual(['weights', 'GPT2Config', 'model card']);
  });

  test('behavior: fetched again on a new checkpoint, finished or rewind notice, a new connection or run; not on other events', () => {
    const events = [event('join', 5), event('checkpoint', 4), event('join', 1)];
    const key = checkpointRefreshKey('run-1', true, events);
    expect(checkpointRefreshKey('run-1', true, [event('leave', 6), ...events])).toBe(key);
    for (const kind of ['checkpoint', 'finished', 'rewind'] as const) expect(checkpointRefreshKey('run-1', true, [event(kind, 6), ...events])).not.toBe(key);
    expect(checkpointRefreshKey('run-1', false, events)).not.toBe(key);
    expect(checkpointRefreshKey('run-2', true, events)).not.toBe(key);
  });
});

describe('parseCheckpointView', () => {
  test('behavior: a well-formed answer is taken as it is', () => {
    expect(parseCheckpointView(JSON.parse(JSON.stringify(checkpoint(6))))).toEqual(checkpoint(6));
    expect(parseCheckpointView({ ...checkpoint(0), validation: null })).toEqual(checkpoint(0, null));
  });

  test('error: a malformed answer is refused, naming the field; a file link must stay on the coordinator', () => {
    expect(() => parseCheckpointView(null)).toThrow("'round' is not valid");
    expect(() => parseCheckpointView({ ...checkpoint(6), round: -1 })).toThrow("'round' is not valid");
    expect(() => parseCheckpointView({ ...checkpoint(6), name: 3 })).toThrow("'name' is not valid");
    expect(() => parseCheckpointView({ ...checkpoint(6), validation: { round: 6 } })).toThrow("'validation' is not valid");
    expect(() => parseCheckpointView({ ...checkpoint(6), files: 'all' })).toThrow("'files' is not valid");
    const elsewhere = { ...checkpoint(6), files: [{ name: 'model.safetensors', bytes: 1, url: 'https://evil.example/model.safetensors' }] };
    expect(() => parseCheckpointView(elsewhere)).toThrow("'files' is not valid");
  });
});
