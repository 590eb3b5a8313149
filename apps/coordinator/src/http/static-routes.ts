import { createReadStream, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { Hono, type Context } from 'hono';
import { etagOf, notModified } from './conditional.ts';
import { HttpError } from './http-error.ts';

/**
 * The built web app (`npm run build`, dist/web) from the coordinator's own port, so a deployment is
 * one origin. Mounted after every other route module: it answers only GET and HEAD of a file that
 * exists in the folder, and anything else falls through to the app's 404.
 *
 * Every response it serves makes the page cross-origin isolated (threaded wasm in onnxruntime-web
 * needs SharedArrayBuffer): the same COOP/COEP headers vite.config.ts gives the dev server, and
 * CORP so the page's own files load under `require-corp`.
 */
export const ISOLATION_HEADERS = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
} as const;

/** Vite's output under assets/ is named `<name>-<content hash>.<ext>`: the name changes whenever the bytes do. */
const HASHED_ASSET = /^assets\/.+-[A-Za-z0-9_-]{8}\.[A-Za-z0-9]+$/;
/** A hashed asset never changes: a year, and no revalidation. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** index.html and unhashed files: kept, but revalidated (ETag / Last-Modified) on every use. */
const REVALIDATE = 'no-cache';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.onnx': 'application/octet-stream',
  '.bin': 'application/octet-stream',
};
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

/** The content type a file is served with, by its extension. */
export function contentType(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? DEFAULT_CONTENT_TYPE;
}

/** GET/HEAD `/` → index.html, `/<path>` → that file of `folder`; never a file outside it. */
export function staticRoutes(folder: string) {
  const root = resolve(folder);
  // HEAD is dispatched here too (Hono answers it as GET without the body; serveFile opens nothing for it)
  return new Hono().get('*', async (c) => {
    const path = resolve(root, requestedFile(c.req.url));
    if (!path.startsWith(root + sep)) throw new HttpError(400, 'bad-path', `path '${new URL(c.req.url).pathname}' leaves the web app's folder`);
    const name = relative(root, path).split(sep).join('/');
    // dotfiles (an editor's leftovers, .vite/) are not part of the app
    if (name.split('/').some((segment) => segment.startsWith('.'))) return c.notFound();
    const file = await stat(path).catch(() => null);
    if (!file?.isFile()) return c.notFound();
    return serveFile(c, path, name, file);
  });
}

/** The file a URL names, relative to the folder: percent-decoded, `/` and `…/` naming index.html. */
function requestedFile(url: string): string {
  let pathname: string;
  try {
    // the URL parser has already resolved `.`/`..` segments (also %2e%2e); an encoded `/` (%2f) decodes here and is caught by the caller
    pathname = decodeURIComponent(new URL(url).pathname);
  } catch {
    throw new HttpError(400, 'bad-path', `path of '${url}' is not valid percent-encoding`);
  }
  if (pathname.includes('\0')) throw new HttpError(400, 'bad-path', `path of '${url}' contains a NUL byte`);
  const path = pathname.replace(/^\/+/, '');
  return path === '' || path.endsWith('/') ? `${path}index.html` : path;
}

function serveFile(c: Context, path: string, name: string, file: Stats): Response {
  const etag = etagOf(file);
  const headers: Record<string, string> = {
    ...ISOLATION_HEADERS,
    'cache-control': HASHED_ASSET.test(name) ? IMMUTABLE : REVALIDATE,
    etag,
    'last-modified': file.mtime.toUTCString(),
    'x-content-type-options': 'nosniff',
  };
  if (notModified(c, etag, file)) return c.body(null, 304, headers);
  headers['content-type'] = contentType(name);
  headers['content-length'] = String(file.size);
  if (c.req.method === 'HEAD') return c.body(null, 200, headers);
  // streamed: onnxruntime-web's wasm is ~30 MB
  const body = Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>;
  return c.body(body, 200, headers);
}

export type StaticRoutes = ReturnType<typeof staticRoutes>;
