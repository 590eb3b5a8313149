import type { CheckpointFile, CheckpointView, DashboardEvent, LiveStats, RoundPoint, RunInfo, ValidationPoint } from '@openshard/protocol';
import { roundsCompleted } from './derive.ts';

/**
 * The latest committed checkpoint and the end of the run, as the dashboard shows them. Pure,
 * except `fetchLatestCheckpoint`: values in, values out.
 */

/** Notices after which the latest checkpoint may be another one. */
const CHECKPOINT_NOTICES: ReadonlySet<DashboardEvent['kind']> = new Set(['checkpoint', 'finished', 'rewind']);

/** Checks an answer of GET /checkpoints/latest before use; throws naming the offending value. */
export function parseCheckpointView(body: unknown): CheckpointView {
  const b = body as Partial<CheckpointView> | null;
  const bad = (field: string) => new Error(`GET /checkpoints/latest: '${field}' is not valid in ${JSON.stringify(body)?.slice(0, 200)}`);
  if (!Number.isInteger(b?.round) || (b?.round as number) < 0) throw bad('round');
  if (typeof b?.name !== 'string') throw bad('name');
  const v = b.validation;
  if (v !== null && (typeof v !== 'object' || !Number.isInteger(v?.round) || typeof v.loss !== 'number' || typeof v.at !== 'number')) throw bad('validation');
  if (!Array.isArray(b.files)) throw bad('files');
  for (const f of b.files as CheckpointFile[]) {
    // a relative path on the coordinator, never a link elsewhere
    if (typeof f?.name !== 'string' || !Number.isInteger(f.bytes) || f.bytes < 0 || typeof f.url !== 'string' || !f.url.startsWith('/checkpoints/')) throw bad('files');
  }
  return { round: b.round as number, name: b.name, validation: v ?? null, files: b.files };
}

/** The latest committed checkpoint; null while there is none (404). */
export async function fetchLatestCheckpoint(coordinatorUrl: string): Promise<CheckpointView | null> {
  const url = `${coordinatorUrl}/checkpoints/latest`;
  const response = await fetch(url, { cache: 'no-store' });
  if (response.status === 404) return null;
  const body = (await response.json().catch(() => null)) as { message?: string } | null;
  if (!response.ok || !body) throw new Error(`${url} answered ${response.status}${body?.message ? `: ${body.message}` : ''}`);
  return parseCheckpointView(body);
}

/**
 * Changes whenever the latest checkpoint may have: the run, a new connection (a restarted
 * coordinator may have rolled back), or the newest checkpoint, finished or rewind notice. Events are newest first.
 */
export function checkpointRefreshKey(runId: string | null, connected: boolean, events: readonly DashboardEvent[]): string {
  const notice = events.find((e) => CHECKPOINT_NOTICES.has(e.kind));
  return `${runId ?? '-'}|${connected ? 'connected' : 'not connected'}|${notice ? `${notice.kind}@${notice.at}` : '-'}`;
}

/** "round 120 · validation loss 2.346"; the validation's own round when it was measured earlier. */
export function checkpointSummary(c: CheckpointView): string {
  const v = c.validation;
  const loss = v === null ? 'validation loss not measured' : `validation loss ${v.loss.toFixed(3)}${v.round === c.round ? '' : ` (measured at round ${v.round})`}`;
  return `round ${c.round} · ${loss}`;
}

export type RunCompletion =
  | { complete: false }
  | {
      complete: true;
      /** "Run complete: 6 rounds, final validation loss 2.345". */
      text: string;
      /** The checkpoint of the last round, once it is committed; null while it is being written. */
      checkpoint: CheckpointView | null;
    };

/**
 * The run is complete once its last round has closed: the rounds completed reach the rounds it
 * lasts. The final validation loss is the one measured after the last round (the coordinator
 * measures it before the final checkpoint).
 */
export function runCompletion(run: RunInfo, rounds: readonly RoundPoint[], validation: readonly ValidationPoint[], checkpoint: CheckpointView | null, stats?: LiveStats): RunCompletion {
  // counted as the run summary counts them, so its "(finished)" and this panel agree
  const completed = roundsCompleted(rounds, stats);
  if (completed < run.rounds) return { complete: false };
  const final = validation.find((v) => v.round === run.rounds);
  const loss = final ? `final validation loss ${final.loss.toFixed(3)}` : 'final validation loss not measured yet';
  return {
    complete: true,
    text: `Run complete: ${run.rounds} ${run.rounds === 1 ? 'round' : 'rounds'}, ${loss}`,
    checkpoint: checkpoint !== null && checkpoint.round >= run.rounds ? checkpoint : null,
  };
}

/** What a file of the checkpoint is, for its link. */
export function describeCheckpointFile(name: string): string {
  if (name.endsWith('.safetensors')) return 'weights';
  if (name === 'config.json') return 'GPT2Config';
  if (name === 'README.md') return 'model card';
  return 'file';
}
