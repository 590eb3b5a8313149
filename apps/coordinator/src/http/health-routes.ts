import { Hono } from 'hono';

/** What /health reports: the round being trained and the volunteers connected. */
export interface HealthSource {
  run: { round: number };
  volunteers: { size: number };
}

/** GET /health → { round, volunteers } */
export function healthRoutes(source: HealthSource) {
  return new Hono().get('/health', (c) => c.json({ round: source.run.round, volunteers: source.volunteers.size }));
}

export type HealthRoutes = ReturnType<typeof healthRoutes>;
