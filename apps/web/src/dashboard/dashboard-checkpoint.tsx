import type { CheckpointView, LiveStats, RoundPoint, RunInfo, ValidationPoint } from '@openshard/protocol';
import { coordinatorUrl } from '../shell/coordinator-url.ts';
import { checkpointSummary, describeCheckpointFile, runCompletion } from './checkpoint.ts';
import { formatBytes } from './format.ts';
import type { LatestCheckpoint } from './use-checkpoint.ts';

interface CheckpointPanelProps {
  run: RunInfo;
  rounds: RoundPoint[];
  validation: ValidationPoint[];
  latest: LatestCheckpoint;
  /** The coordinator's latest stats (rounds completed), when any have come. */
  stats: LiveStats | undefined;
}

/** The run's end, when it has come, and the latest committed checkpoint: a Hugging Face folder anyone may download. */
export function CheckpointPanel({ run, rounds, validation, latest, stats }: CheckpointPanelProps) {
  const completion = runCompletion(run, rounds, validation, latest.checkpoint, stats);
  return (
    <>
      {completion.complete && (
        <section className="panel run-complete" aria-label="Run complete" data-testid="run-complete">
          <strong>{completion.text}</strong>
          {completion.checkpoint ? (
            <p>
              Final checkpoint: <CheckpointLinks checkpoint={completion.checkpoint} />
            </p>
          ) : (
            <p className="muted">The final checkpoint is being written…</p>
          )}
        </section>
      )}
      <section className="panel checkpoint" aria-label="Checkpoint" data-testid="checkpoint">
        <span className="label">Latest checkpoint</span>{' '}
        {latest.checkpoint ? (
          <>
            <span data-testid="checkpoint-summary">{checkpointSummary(latest.checkpoint)}</span> · <CheckpointLinks checkpoint={latest.checkpoint} />
          </>
        ) : (
          <span className="muted">{latest.loaded ? 'none committed yet' : 'asking the coordinator…'}</span>
        )}
        {latest.problem && (
          <span className="bad" role="alert">
            {' '}
            ({latest.problem})
          </span>
        )}
      </section>
    </>
  );
}

function CheckpointLinks({ checkpoint }: { checkpoint: CheckpointView }) {
  let origin = '';
  try {
    origin = coordinatorUrl();
  } catch {
    // the page already says why it cannot reach the coordinator; same-origin links stay
  }
  return (
    <span className="checkpoint-files">
      {checkpoint.files.map((f, i) => (
        <span key={f.name}>
          {i > 0 && ', '}
          <a href={origin + f.url} download={f.name.endsWith('.safetensors') ? f.name : undefined} title={`${f.name} of ${checkpoint.name}`}>
            {f.name}
          </a>{' '}
          <span className="muted">
            ({describeCheckpointFile(f.name)}, {formatBytes(f.bytes)})
          </span>
        </span>
      ))}
    </span>
  );
}
