import type { VolunteerEvent, VolunteerStats } from '@openshard/volunteer';
import type { ServingEvent } from '@openshard/volunteer/serving';
import { useCallback, useEffect, useReducer, useRef } from 'react';
import type { BackendChoice, FromWorker, ServedCount, ToWorker } from './worker-messages.ts';

/** Events kept for the log, and stats samples kept for throughput (one per STATS_INTERVAL_MS). */
const MAX_LOG = 100;
const MAX_SAMPLES = 120;

export interface LogEntry {
  at: number;
  kind: VolunteerEvent['type'] | ServingEvent['type'];
  text: string;
}

/** What the tab serves: the last serving event, in words (which execution provider, or why none). */
export interface ServingState {
  event: ServingEvent;
  text: string;
}

export interface WorkerState {
  phase: 'idle' | 'starting' | 'running' | 'failed';
  name: string | null;
  backend: BackendChoice | null;
  adapter: string | null;
  stats: VolunteerStats | null;
  samples: { at: number; stats: VolunteerStats }[];
  log: LogEntry[];
  failure: string | null;
  serving: ServingState | null;
  served: ServedCount;
}

/** The log with `e` first, kept to its last MAX_LOG entries. */
const logged = (s: WorkerState, e: LogEntry): LogEntry[] => [e, ...s.log].slice(0, MAX_LOG);

const INITIAL: WorkerState = { phase: 'idle', name: null, backend: null, adapter: null, stats: null, samples: [], log: [], failure: null, serving: null, served: { steps: 0, positions: 0 } };

type Action = FromWorker | { type: 'starting'; name: string };

function reduce(s: WorkerState, a: Action): WorkerState {
  switch (a.type) {
    case 'starting':
      return { ...INITIAL, phase: 'starting', name: a.name };
    case 'started':
      return { ...s, phase: 'running', backend: a.backend, adapter: a.adapter };
    case 'failed':
      return {
        ...s,
        phase: s.phase === 'starting' ? 'failed' : s.phase,
        failure: a.message,
        log: logged(s, { at: Date.now(), kind: 'error', text: `error: ${a.message}` }),
      };
    case 'event':
      return { ...s, log: logged(s, { at: a.at, kind: a.event.type, text: a.text }) };
    case 'serving':
      return { ...s, serving: { event: a.event, text: a.text }, log: logged(s, { at: a.at, kind: a.event.type, text: a.text }) };
    case 'stats':
      return { ...s, stats: a.stats, served: a.served, samples: [...s.samples, { at: a.at, stats: a.stats }].slice(-MAX_SAMPLES) };
  }
}

/** The volunteer worker of this tab: started on demand, stopped when the page goes away. */
export function useVolunteerWorker() {
  const [state, dispatch] = useReducer(reduce, INITIAL);
  const worker = useRef<Worker | null>(null);
  const send = useCallback((m: ToWorker) => worker.current?.postMessage(m), []);

  const start = useCallback((o: Omit<Extract<ToWorker, { type: 'start' }>, 'type'>) => {
    if (worker.current) return;
    const w = new Worker(new URL('./volunteer.worker.ts', import.meta.url), { type: 'module', name: 'openshard-volunteer' });
    w.onmessage = (e: MessageEvent<FromWorker>) => dispatch(e.data);
    w.onerror = (e) => dispatch({ type: 'failed', message: e.message || 'the volunteer worker failed to load' });
    worker.current = w;
    dispatch({ type: 'starting', name: o.name });
    w.postMessage({ type: 'start', ...o } satisfies ToWorker);
  }, []);

  useEffect(() => () => worker.current?.terminate(), []);
  return { state, start, send };
}
