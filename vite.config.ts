import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** The coordinator the web app talks to; the dev server proxies /socket.io and /health to it. */
export const COORDINATOR_URL = process.env.OPENSHARD_COORDINATOR_URL ?? 'http://127.0.0.1:8600';

/** COOP/COEP make the page cross-origin isolated, for threaded wasm. */
const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

/** The web app (apps/web). */
export default defineConfig({
  root: fileURLToPath(new URL('./apps/web', import.meta.url)),
  server: {
    host: '127.0.0.1',
    port: 5173,
    headers: isolation,
    proxy: {
      '/socket.io': { target: COORDINATOR_URL, ws: true },
      '/health': { target: COORDINATOR_URL },
    },
  },
  preview: { host: '127.0.0.1', headers: isolation },
  worker: { format: 'es' },
  build: { outDir: fileURLToPath(new URL('./dist/web', import.meta.url)), emptyOutDir: true, target: 'es2022' },
});
