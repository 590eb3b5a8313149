import type { VolunteerEvent, VolunteerStats } from '@openshard/volunteer';
import type { ServingEvent } from '@openshard/volunteer/serving';

export type BackendChoice = 'webgpu' | 'cpu';

/** What this tab has served since it started: generation steps answered, and the positions they carried. */
export interface ServedCount {
  steps: number;
  positions: number;
}

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
  | { type: 'stats'; at: number; stats: VolunteerStats; served: ServedCount }
  /** The serving host loaded its shard (with which execution provider) or could not. */
  | { type: 'serving'; at: number; event: ServingEvent; text: string }
  | { type: 'failed'; message: string };

/** How often the worker reports its stats (ms). */
export const STATS_INTERVAL_MS = 500;
