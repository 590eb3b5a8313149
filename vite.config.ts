import { fileURLToPath } from 'node:url';
import { createLogger, defineConfig } from 'vite';

/** The coordinator the web app talks to; the dev server proxies /socket.io, /health, /siwe, /ownership and /chain to it. */
export const COORDINATOR_URL = process.env.OPENSHARD_COORDINATOR_URL ?? 'http://127.0.0.1:8600';

/** COOP/COEP make the page cross-origin isolated, for threaded wasm. */
const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

/**
 * Proxy errors in one line: a tab that closes mid-frame resets its socket (expected, not logged),
 * and a coordinator that is down refuses connections until it is back (volunteers retry).
 */
const logger = createLogger('warn');
const logError = logger.error.bind(logger);
logger.error = (message, options) => {
  if (!/proxy (socket )?error/.test(message)) return logError(message, options);
  if (/ECONNRESET|EPIPE/.test(message)) return;
  const cause = /Error: [^\n]*/.exec(message)?.[0] ?? message.split('\n')[0];
  logError(`proxy to the coordinator at ${COORDINATOR_URL}: ${cause}`, { ...options, error: null });
};

/** The web app (apps/web). */
export default defineConfig({
  customLogger: logger,
  root: fileURLToPath(new URL('./apps/web', import.meta.url)),
  server: {
    host: '127.0.0.1',
    port: 5173,
    headers: isolation,
    proxy: {
      '/socket.io': { target: COORDINATOR_URL, ws: true },
      '/health': { target: COORDINATOR_URL },
      '/siwe': { target: COORDINATOR_URL },
      '/ownership': { target: COORDINATOR_URL },
      '/chain': { target: COORDINATOR_URL },
      '/v1': { target: COORDINATOR_URL },
      '/revenue': { target: COORDINATOR_URL },
      '/checkpoints': { target: COORDINATOR_URL },
    },
  },
  preview: { host: '127.0.0.1', headers: isolation },
  // pre-bundled up front (the worker's too): a dependency found later reloads every open page,
  // which would end a volunteer's session mid-task. onnx-proto (CommonJS) comes with the worker's
  // serving. onnxruntime-web is served as it ships, an ES module: it finds its files and workers
  // from its own import.meta.url, which pre-bundling would move into .vite/deps
  optimizeDeps: {
    entries: ['index.html', 'src/**/*.worker.ts'],
    include: [
      'react',
      'react-dom/client',
      'react/jsx-runtime',
      'react/jsx-dev-runtime',
      'socket.io-client',
      'uplot',
      'zod',
      'viem',
      'viem/siwe',
      'wagmi',
      'wagmi/connectors',
      '@tanstack/react-query',
      'onnx-proto',
    ],
    exclude: ['onnxruntime-web'],
  },
  worker: { format: 'es' },
  build: {
    outDir: fileURLToPath(new URL('./dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    rollupOptions: {
      // dependencies' "use client" directives and misplaced /* @__PURE__ */ comments: harmless, and a hundred lines per build
      onwarn(warning, warn) {
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE' || warning.code === 'INVALID_ANNOTATION') return;
        warn(warning);
      },
    },
  },
});
