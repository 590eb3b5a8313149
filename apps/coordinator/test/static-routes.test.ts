import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { buildApp } from '../src/http/app.ts';
import { healthRoutes } from '../src/http/health-routes.ts';
import { staticRoutes } from '../src/http/static-routes.ts';
import { DEFAULT_COORDINATOR, startCoordinator } from '../src/start-coordinator.ts';

/** A build folder as Vite writes it, inside a folder holding a file that must never be served. */
const outside = mkdtempSync(join(tmpdir(), 'openshard-static-'));
const folder = join(outside, 'web');
mkdirSync(join(folder, 'assets'), { recursive: true });
mkdirSync(join(folder, '.vite'));
const INDEX = '<!doctype html><title>OpenShard</title><script type="module" src="/assets/index-CRbrMiWo.js"></script>';
writeFileSync(join(folder, 'index.html'), INDEX);
writeFileSync(join(folder, 'assets', 'index-CRbrMiWo.js'), 'console.log(1);');
writeFileSync(join(folder, 'assets', 'index-CXMSkD7p.css'), 'body{}');
writeFileSync(join(folder, 'assets', 'ort-wasm-simd-threaded.jsep-Dt5UNR3U.wasm'), new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
writeFileSync(join(folder, 'assets', 'index-CRbrMiWo.js.map'), '{}');
writeFileSync(join(folder, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
writeFileSync(join(folder, 'shard-0.onnx'), new Uint8Array(16));
writeFileSync(join(folder, '.vite', 'manifest.json'), '{}');
writeFileSync(join(outside, 'secret.txt'), 'not for the web');
afterAll(() => rmSync(outside, { recursive: true, force: true }));

const app = buildApp([healthRoutes({ run: { round: 7 }, volunteers: { size: 2 } }), staticRoutes(folder)]);
const get = (path: string, headers: Record<string, string> = {}) => app.request(`http://127.0.0.1:8600${path}`, { headers });

describe('the built web app from the coordinator’s port (http/static-routes.ts)', () => {
  test('behavior: / is index.html, revalidated on every use, cross-origin isolated', async () => {
    const res = await get('/');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(INDEX);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('etag')).toMatch(/^W\/".+"$/);
    expect(res.headers.get('last-modified')).toMatch(/GMT$/);
    expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(res.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    expect(res.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    expect((await get('/index.html')).headers.get('etag')).toBe(res.headers.get('etag'));
  });

  test('behavior: content types by extension', async () => {
    const types: Record<string, string> = {
      '/assets/index-CRbrMiWo.js': 'text/javascript; charset=utf-8',
      '/assets/index-CXMSkD7p.css': 'text/css; charset=utf-8',
      '/assets/ort-wasm-simd-threaded.jsep-Dt5UNR3U.wasm': 'application/wasm',
      '/assets/index-CRbrMiWo.js.map': 'application/json; charset=utf-8',
      '/favicon.svg': 'image/svg+xml',
      '/shard-0.onnx': 'application/octet-stream',
    };
    for (const [path, type] of Object.entries(types)) {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toBe(type);
      expect(res.headers.get('cross-origin-embedder-policy'), path).toBe('require-corp');
    }
    const wasm = new Uint8Array(await (await get('/assets/ort-wasm-simd-threaded.jsep-Dt5UNR3U.wasm')).arrayBuffer());
    expect([...wasm.slice(0, 4)]).toEqual([0, 0x61, 0x73, 0x6d]);
  });

  test('behavior: hashed assets are immutable for a year; unhashed files are revalidated', async () => {
    for (const path of ['/assets/index-CRbrMiWo.js', '/assets/index-CXMSkD7p.css', '/assets/ort-wasm-simd-threaded.jsep-Dt5UNR3U.wasm']) {
      expect((await get(path)).headers.get('cache-control'), path).toBe('public, max-age=31536000, immutable');
    }
    for (const path of ['/', '/favicon.svg', '/shard-0.onnx']) expect((await get(path)).headers.get('cache-control'), path).toBe('no-cache');
  });

  test('behavior: a matching If-None-Match or If-Modified-Since is answered 304 without a body; another ETag gets the file', async () => {
    const first = await get('/');
    const etag = first.headers.get('etag')!;
    const again = await get('/', { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    expect(again.headers.get('etag')).toBe(etag);
    expect(again.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect((await get('/', { 'if-none-match': `W/"0-0", ${etag}` })).status).toBe(304);
    expect((await get('/', { 'if-modified-since': first.headers.get('last-modified')! })).status).toBe(304);
    const changed = await get('/', { 'if-none-match': 'W/"0-0"' });
    expect(changed.status).toBe(200);
    expect(await changed.text()).toBe(INDEX);
  });

  test('behavior: HEAD gives the headers and the length, no body', async () => {
    const res = await app.request('http://127.0.0.1:8600/assets/index-CRbrMiWo.js', { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String('console.log(1);'.length));
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await res.text()).toBe('');
  });

  test('error: no path leaves the folder: dot segments, encoded or not, and encoded slashes', async () => {
    // the URL parser resolves `..` and `%2e%2e` segments to the root: these name files inside the folder, which has none of them
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/../../secret.txt', '/.%2e/secret.txt', '/../package.json']) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(await res.json(), path).toMatchObject({ error: 'not-found' });
    }
    // an encoded `/` survives the parser and decodes to a path outside the folder
    for (const path of ['/..%2fsecret.txt', '/assets/..%2f..%2fsecret.txt', '/%2e%2e%2fsecret.txt', '/%2E%2E%2F%2E%2E%2Fpackage.json']) {
      const res = await get(path);
      expect(res.status, path).toBe(400);
      expect(await res.json(), path).toMatchObject({ error: 'bad-path', message: expect.stringContaining("leaves the web app's folder") });
    }
    expect((await get('/%E0%A4%A')).status).toBe(400);
    expect((await get('/index.html%00.js')).status).toBe(400);
  });

  test('error: a missing file, a folder and a dotfile fall through to the app’s 404; other routes are not shadowed', async () => {
    for (const path of ['/missing.js', '/assets/', '/assets', '/.vite/manifest.json']) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(await res.json(), path).toEqual({ error: 'not-found', message: `no route GET ${path}` });
    }
    const health = await get('/health');
    expect(await health.json()).toEqual({ round: 7, volunteers: 2 });
    expect(health.headers.get('cross-origin-opener-policy')).toBeNull();
    // the OpenAI-compatible API answers its own 404s, in its own shape
    const api = await get('/v1/nothing');
    expect(api.status).toBe(404);
    expect(await api.json()).toMatchObject({ error: { code: 'not-found' } });
    // only GET and HEAD: a POST to a file's path is not the web app's
    expect((await app.request('http://127.0.0.1:8600/index.html', { method: 'POST' })).status).toBe(404);
  });

  test('behavior: a coordinator serving the app signs volunteers in from its own bound URL (port 0), and serves the app beside its routes', async () => {
    const dataDir = mkdtempSync(join(outside, 'data-'));
    const running = await startCoordinator({
      ...DEFAULT_COORDINATOR,
      preset: 'micro',
      shards: 1,
      batch: 1,
      microBatches: 2,
      rounds: 1,
      port: 0,
      dataDir,
      evalBatches: 1,
      webOrigin: null,
      routes: [staticRoutes(folder)],
    });
    try {
      const url = running.server.url;
      expect(url).not.toMatch(/:0$/);
      const nonce = (await (await fetch(`${url}/siwe/nonce`)).json()) as { domain: string; uri: string };
      expect(nonce).toMatchObject({ domain: new URL(url).host, uri: url });
      const page = await fetch(`${url}/`);
      expect(await page.text()).toBe(INDEX);
      expect(page.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
      expect((await fetch(`${url}/health`)).headers.get('content-type')).toMatch(/^application\/json/);
    } finally {
      await running.close();
    }
  });
});
