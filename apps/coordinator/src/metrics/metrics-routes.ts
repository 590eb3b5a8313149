import { Hono } from 'hono';
import type { Registry } from 'prom-client';

/** GET /metrics → the registry in Prometheus's text format (version 0.0.4). */
export function metricsRoutes(registry: Registry) {
  return new Hono().get('/metrics', async (c) => {
    c.header('cache-control', 'no-store');
    c.header('content-type', registry.contentType);
    return c.body(await registry.metrics());
  });
}
