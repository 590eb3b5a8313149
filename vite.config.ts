import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** The web app (apps/web). COOP/COEP make the page cross-origin isolated, for threaded wasm. */
export default defineConfig({
  root: fileURLToPath(new URL('./apps/web', import.meta.url)),
  server: {
    host: '127.0.0.1',
    port: 5173,
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
  },
  preview: {
    host: '127.0.0.1',
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
  },
  build: { outDir: fileURLToPath(new URL('./dist/web', import.meta.url)), emptyOutDir: true, target: 'es2022' },
});
