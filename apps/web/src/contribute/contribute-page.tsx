import { useEffect, useRef, useState } from 'react';
import { coordinatorUrl } from '../shell/coordinator-url.ts';
import { currentSession } from '../shell/session.ts';
import { detectWebGpu, ENABLE_WEBGPU_HELP, type Capability } from './capability.ts';
import { KernelCheck } from './kernel-check.tsx';
import { useVolunteerWorker } from './use-volunteer-worker.ts';
import { VolunteerStatus } from './volunteer-status.tsx';
import { saveVolunteerName, tabVolunteerName, volunteerNameProblem } from './volunteer-name.ts';
import type { BackendChoice } from './worker-messages.ts';

/** The largest ?slowdown= accepted. */
const MAX_SLOWDOWN = 100;
/** The least GPU use the throttle offers (%). */
const MIN_DUTY_PERCENT = 10;

/** One button to contribute this browser's GPU (or its CPU), and what the volunteer is doing. */
export function ContributePage() {
  const [capability, setCapability] = useState<Capability>({ kind: 'checking' });
  const [name, setName] = useState(tabVolunteerName);
  const [duty, setDuty] = useState(100);
  const [userPaused, setUserPaused] = useState(false);
  const [pauseWhenHidden, setPauseWhenHidden] = useState(false);
  const { state, start, send } = useVolunteerWorker();
  const pauseReasons = useRef(new Set<string>());

  useEffect(() => void detectWebGpu().then(setCapability), []);

  /** Pauses while any reason holds (the owner, a hidden or frozen tab); resumes when none does. */
  const setPauseReason = (reason: string, on: boolean) => {
    const reasons = pauseReasons.current;
    const before = reasons.size > 0;
    if (on) reasons.add(reason);
    else reasons.delete(reason);
    if (!before && reasons.size > 0) send({ type: 'pause', reason });
    if (before && reasons.size === 0) send({ type: 'resume', reason: `no longer ${reason}` });
  };

  // biome-ignore lint/correctness/useExhaustiveDependencies: setPauseReason is re-created each render; the listeners need only the current pauseWhenHidden
  useEffect(() => {
    // a frozen tab runs nothing: give the task back before the browser freezes it
    const onFreeze = () => setPauseReason('tab frozen by the browser', true);
    const onResume = () => setPauseReason('tab frozen by the browser', false);
    const onVisibility = () => setPauseReason('tab hidden', pauseWhenHidden && document.visibilityState === 'hidden');
    document.addEventListener('freeze', onFreeze);
    document.addEventListener('resume', onResume);
    document.addEventListener('visibilitychange', onVisibility);
    onVisibility();
    return () => {
      document.removeEventListener('freeze', onFreeze);
      document.removeEventListener('resume', onResume);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [pauseWhenHidden]);

  const [startProblem, setStartProblem] = useState<string | null>(null);
  const begin = (backend: BackendChoice) => {
    const n = name.trim();
    try {
      const session = currentSession();
      const options = { url: coordinatorUrl(), name: n, backend, dutyCycle: duty / 100, slowdown: slowdownFromAddress(), ...(session ? { session: session.sessionToken } : {}) };
      saveVolunteerName(n);
      start(options);
    } catch (e) {
      setStartProblem((e as Error).message);
    }
  };
  const nameProblem = volunteerNameProblem(name);
  const started = state.phase !== 'idle';
  const finished = state.stats?.finished ?? null;

  return (
    <section>
      <h1>Contribute</h1>
      <p>
        This tab trains one shard of the model (a few layers, never the whole of it) and serves that shard for generations. Its work is credited to your volunteer name. Closing the tab stops it; the
        network hands its task to someone else.
      </p>
      <Capabilities capability={capability} />
      {!started && (
        <div className="panel">
          <label>
            Volunteer name <input value={name} onChange={(e) => setName(e.target.value)} maxLength={64} aria-label="Volunteer name" />
          </label>
          {nameProblem && <span className="bad"> {nameProblem}</span>}
          <WalletNote />
          {startProblem && (
            <p className="bad" role="alert">
              {startProblem}
            </p>
          )}
          <p>
            {capability.kind === 'webgpu' && (
              <button type="button" className="primary" onClick={() => begin('webgpu')} disabled={!!nameProblem}>
                Contribute this GPU
              </button>
            )}
            {capability.kind === 'none' && (
              <>
                <button type="button" className="primary" onClick={() => begin('cpu')} disabled={!!nameProblem}>
                  Contribute with the CPU instead
                </button>
                <span className="muted"> The CPU backend works everywhere but is several times slower than a GPU.</span>
              </>
            )}
          </p>
        </div>
      )}
      {started && (
        <>
          {finished && <RunFinished rounds={finished.rounds} serving={state.serving?.event.type === 'serving'} />}
          <Controls
            finished={finished !== null}
            duty={duty}
            paused={userPaused}
            pauseWhenHidden={pauseWhenHidden}
            onDuty={(d) => {
              setDuty(d);
              send({ type: 'duty-cycle', value: d / 100 });
            }}
            onPause={(p) => {
              setUserPaused(p);
              setPauseReason('paused by you', p);
            }}
            onPauseWhenHidden={setPauseWhenHidden}
          />
          <VolunteerStatus state={state} />
        </>
      )}
      <details>
        <summary>Check this GPU's kernels</summary>
        {capability.kind === 'webgpu' ? <KernelCheck /> : <p className="muted">Needs WebGPU.</p>}
      </details>
      {state.backend === 'webgpu' && (
        <details>
          <summary>Diagnostics</summary>
          <p>
            A driver reset or a long sleep can take the GPU away. The volunteer then starts a new device, fetches its shard again and carries on; its task goes to someone else meanwhile.{' '}
            <button type="button" onClick={() => send({ type: 'lose-device' })}>
              Simulate a GPU device loss
            </button>
          </p>
        </details>
      )}
    </section>
  );
}

/** The run is over: nothing to train, and the tab keeps its connection only to serve. */
function RunFinished({ rounds, serving }: { rounds: number; serving: boolean }) {
  return (
    <p className="panel" role="status" data-testid="run-finished" data-rounds={rounds}>
      The run is complete ({rounds.toLocaleString('en-US')} rounds). Thank you — nothing more to train.{' '}
      {serving ? 'This tab still serves its shard for generations until you close it.' : 'You can close this tab.'}
    </p>
  );
}

function WalletNote() {
  const session = currentSession();
  return session ? (
    <p data-testid="contribute-wallet">Signed in as {session.address}: accepted work accrues ownership shares to this wallet.</p>
  ) : (
    <p data-testid="contribute-wallet" className="muted">
      No wallet signed in: this tab contributes but accrues nothing. <a href="#/earnings">Sign in on Earnings</a> first to own a share of the model.
    </p>
  );
}

function Capabilities({ capability }: { capability: Capability }) {
  if (capability.kind === 'checking') return <p id="capability">Looking for WebGPU…</p>;
  if (capability.kind === 'none')
    return (
      <p id="capability">
        No WebGPU here: {capability.reason}. {ENABLE_WEBGPU_HELP}
      </p>
    );
  const { summary } = capability;
  return (
    <p id="capability">
      WebGPU adapter: {capability.name}
      {summary.isFallbackAdapter ? ' (software fallback: slow)' : ''}; largest buffer {Math.round(summary.limits.maxStorageBufferBindingSize / 2 ** 20)} MiB,{' '}
      {summary.limits.maxComputeInvocationsPerWorkgroup} threads per workgroup.
    </p>
  );
}

interface ControlsProps {
  /** The run is complete: pausing only pauses serving, and the GPU-use throttle (a rest after each task) has nothing to throttle. */
  finished: boolean;
  duty: number;
  paused: boolean;
  pauseWhenHidden: boolean;
  onDuty(d: number): void;
  onPause(p: boolean): void;
  onPauseWhenHidden(p: boolean): void;
}

function Controls(p: ControlsProps) {
  // once the run is complete only serving is left to pause
  const what = p.finished ? ' serving' : '';
  return (
    <div className="panel">
      <button type="button" onClick={() => p.onPause(!p.paused)}>
        {p.paused ? `Resume${what}` : `Pause${what}`}
      </button>{' '}
      {!p.finished && (
        <>
          <label>
            GPU use {p.duty}% <input type="range" min={MIN_DUTY_PERCENT} max={100} step={5} value={p.duty} aria-label="GPU use" onChange={(e) => p.onDuty(Number(e.target.value))} />
          </label>{' '}
        </>
      )}
      <label>
        <input type="checkbox" checked={p.pauseWhenHidden} onChange={(e) => p.onPauseWhenHidden(e.target.checked)} /> Pause{what} while this tab is hidden
      </label>
      {!p.finished && (
        <p className="muted">
          {p.duty === 100 ? 'The volunteer takes the next task as soon as one is done.' : `After each task the volunteer rests ${((100 - p.duty) / p.duty).toFixed(1)}× as long as the task took.`}{' '}
          Resting or paused, it takes no task, and pausing gives back the task it holds at once.
        </p>
      )}
    </div>
  );
}

/**
 * `?slowdown=F` makes every task take F times its compute time, as a slower GPU would: for
 * trying out stragglers and re-issue (the Node volunteer's --slowdown).
 */
function slowdownFromAddress(): number {
  const raw = new URLSearchParams(location.search).get('slowdown');
  if (raw === null) return 1;
  const f = Number(raw);
  if (!(f >= 1 && f <= MAX_SLOWDOWN)) throw new Error(`slowdown is '${raw}'; it must be a number from 1 to ${MAX_SLOWDOWN}`);
  return f;
}
