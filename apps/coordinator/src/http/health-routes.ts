import { Hono } from 'hono';
import { checkReadiness, READINESS_TIMEOUT_MS, type ReadinessCheck } from '../metrics/readiness.ts';

/** What /health reports: the round being trained and the volunteers connected. */
export interface HealthSource {
  run: { round: number };
  volunteers: { size: number };
}

/** GET /health → { round, volunteers }: liveness, 200 while the process serves. */
export function healthRoutes(source: HealthSource) {
  return new Hono().get('/health', (c) => c.json({ round: source.run.round, volunteers: source.volunteers.size }));
}

export type HealthRoutes = ReturnType<typeof healthRoutes>;

/** GET /ready → 200 { ready: true, checks } when every check passes, else 503 { ready: false, checks } with each failure's reason. */
export function readyRoutes(checks: readonly ReadinessCheck[], timeoutMs = READINESS_TIMEOUT_MS) {
  return new Hono().get('/ready', async (c) => {
    c.header('cache-control', 'no-store');
    const results = await checkReadiness(checks, timeoutMs);
    const ready = results.every((r) => r.ready);
    return c.json({ ready, checks: results }, ready ? 200 : 503);
  });
}
