import type { VolunteerEvent, VolunteerStats } from '@openshard/volunteer';

export type BackendChoice = 'webgpu' | 'cpu';

/** Page → volunteer worker. */
export type ToWorker =
  | { type: 'start'; url: string; name: string; backend: BackendChoice; dutyCycle: number; slowdown: number; session?: string }
  | { type: 'pause'; reason: string }
  | { type: 'resume'; reason: string }
  | { type: 'duty-cycle'; value: number }
  /** Destroys the GPU device as a driver reset would (to see the volunteer recover). */
  | { type: 'lose-device' }
  | { type: 'stop' };

/** Volunteer worker → page. */
export type FromWorker =
  | { type: 'started'; backend: BackendChoice; adapter: string }
  | { type: 'event'; at: number; event: VolunteerEvent; text: string }
  | { type: 'stats'; at: number; stats: VolunteerStats }
  | { type: 'failed'; message: string };

/** How often the worker reports its stats (ms). */
export const STATS_INTERVAL_MS = 500;
