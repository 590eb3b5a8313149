import { fileURLToPath } from 'node:url';
import { createServer, type ViteDevServer } from 'vite';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

/**
 * Serves a folder of browser pages with Vite on 127.0.0.1 (a secure context, so WebGPU is
 * exposed), with COOP/COEP so onnxruntime-web's wasm can use threads.
 */
export async function startPageServer(root: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server: ViteDevServer = await createServer({
    configFile: false,
    root,
    logLevel: 'warn',
    server: {
      host: '127.0.0.1',
      port: 0,
      fs: { allow: [repoRoot] },
      headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
    },
    optimizeDeps: { exclude: ['onnxruntime-web'] },
  });
  await server.listen();
  const address = server.httpServer!.address();
  if (!address || typeof address === 'string') throw new Error('page server has no TCP address');
  return { url: `http://127.0.0.1:${address.port}/`, close: () => server.close() };
}

export const repoRootPath = repoRoot;
