import type { Volunteer } from '../coordinator-io.ts';

/**
 * Where a connected volunteer stands, for operators:
 *   paused   — it said it is paused or resting: it is given no task;
 *   loading  — accepting, but not (yet) ready on its shard's current weights version;
 *   training — accepting and ready on the current version: the scheduler may lease it tasks.
 */
export type VolunteerState = 'training' | 'paused' | 'loading';

export const VOLUNTEER_STATES: readonly VolunteerState[] = ['training', 'paused', 'loading'];
export const VOLUNTEER_BACKENDS: readonly Volunteer['backend'][] = ['cpu', 'webgpu'];

export interface VolunteerCount {
  backend: Volunteer['backend'];
  state: VolunteerState;
  count: number;
}

export function volunteerState(v: Volunteer, currentVersion: number): VolunteerState {
  if (!v.accepting) return 'paused';
  return v.readyVersion === currentVersion ? 'training' : 'loading';
}

/** Volunteers per backend and state; every pair is present, zeros too, so a state that empties reads 0. */
export function countVolunteers(volunteers: Iterable<Volunteer>, versionOf: (shard: number) => number): VolunteerCount[] {
  const counts = VOLUNTEER_BACKENDS.flatMap((backend) => VOLUNTEER_STATES.map((state) => ({ backend, state, count: 0 })));
  for (const v of volunteers) {
    const state = volunteerState(v, versionOf(v.shard));
    const c = counts.find((c) => c.backend === v.backend && c.state === state);
    if (c) c.count++;
  }
  return counts;
}
