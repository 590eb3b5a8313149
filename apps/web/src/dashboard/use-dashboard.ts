import { DASHBOARD_NAMESPACE } from '@openshard/protocol';
import type { DashboardEvent, DashboardServerEvents, DashboardSnapshot, LiveStats, ReferencePoint, RoundPoint, RunInfo, ValidationPoint } from '@openshard/protocol';
import { useEffect, useReducer } from 'react';
import { io, type Socket } from 'socket.io-client';
import { coordinatorUrl } from '../shell/coordinator-url.ts';

/** Events kept for the feed; the coordinator keeps as many for a dashboard that connects later. */
export const MAX_EVENTS_SHOWN = 200;
/** Stats samples kept (one a second: the last ten minutes). */
export const MAX_STATS_SAMPLES = 600;

export type Connection = 'connecting' | 'connected' | 'reconnecting' | 'closed';

export interface DashboardState {
  connection: Connection;
  /** Why the dashboard cannot connect at all (a bad ?coordinator= address). */
  problem: string | null;
  /** null until the first snapshot. */
  run: RunInfo | null;
  rounds: RoundPoint[];
  validation: ValidationPoint[];
  reference: ReferencePoint[] | null;
  /** Newest first. */
  events: DashboardEvent[];
  /** Oldest first. */
  stats: LiveStats[];
}

export type DashboardAction =
  | { type: 'connection'; connection: Connection }
  | { type: 'problem'; message: string }
  | { type: 'snapshot'; snapshot: DashboardSnapshot }
  | { type: 'round'; round: RoundPoint }
  | { type: 'validation'; validation: ValidationPoint }
  | { type: 'event'; event: DashboardEvent }
  | { type: 'stats'; stats: LiveStats };

export const INITIAL_DASHBOARD: DashboardState = {
  connection: 'connecting',
  problem: null,
  run: null,
  rounds: [],
  validation: [],
  reference: null,
  events: [],
  stats: [],
};

/** Pure: a snapshot replaces everything it covers (it is re-sent after each reconnect); live updates append. */
export function dashboardReducer(state: DashboardState, action: DashboardAction): DashboardState {
  switch (action.type) {
    case 'connection':
      return { ...state, connection: action.connection };
    case 'problem':
      return { ...state, problem: action.message };
    case 'snapshot': {
      const s = action.snapshot;
      return {
        ...state,
        run: s.run,
        rounds: s.rounds,
        validation: s.validation,
        reference: s.reference,
        // the snapshot lists events oldest first
        events: s.events.slice(-MAX_EVENTS_SHOWN).reverse(),
        stats: s.stats.slice(-MAX_STATS_SAMPLES),
      };
    }
    case 'round':
      return { ...state, rounds: [...state.rounds, action.round] };
    case 'validation':
      return { ...state, validation: [...state.validation, action.validation] };
    case 'event':
      return { ...state, events: [action.event, ...state.events.slice(0, MAX_EVENTS_SHOWN - 1)] };
    case 'stats':
      return { ...state, stats: [...state.stats.slice(-(MAX_STATS_SAMPLES - 1)), action.stats] };
  }
}

/** The run as the coordinator's dashboard namespace tells it, live, for as long as the component is mounted. */
export function useDashboard(): DashboardState {
  const [state, dispatch] = useReducer(dashboardReducer, INITIAL_DASHBOARD);

  useEffect(() => {
    let url: string;
    try {
      url = coordinatorUrl() + DASHBOARD_NAMESPACE;
    } catch (e) {
      dispatch({ type: 'problem', message: (e as Error).message });
      return;
    }
    const socket: Socket<DashboardServerEvents> = io(url, { transports: ['websocket'] });
    socket.on('connect', () => dispatch({ type: 'connection', connection: 'connected' }));
    socket.on('connect_error', () => dispatch({ type: 'connection', connection: 'reconnecting' }));
    // the client reconnects by itself unless the server closed the socket on purpose, which this
    // read-only namespace does only to a dashboard that sent it something
    socket.on('disconnect', (reason) => dispatch({ type: 'connection', connection: reason === 'io server disconnect' ? 'closed' : 'reconnecting' }));
    socket.on('snapshot', (snapshot) => dispatch({ type: 'snapshot', snapshot }));
    socket.on('round', (round) => dispatch({ type: 'round', round }));
    socket.on('validation', (validation) => dispatch({ type: 'validation', validation }));
    socket.on('event', (event) => dispatch({ type: 'event', event }));
    socket.on('stats', (stats) => dispatch({ type: 'stats', stats }));
    return () => {
      socket.disconnect();
    };
  }, []);

  return state;
}
