import type { Stats } from 'node:fs';
import type { Context } from 'hono';

/** A weak validator from size and modification time: rewriting the file changes it, a restart does not. */
export function etagOf(file: Pick<Stats, 'size' | 'mtimeMs'>): string {
  return `W/"${file.size.toString(16)}-${Math.floor(file.mtimeMs).toString(16)}"`;
}

/** Whether the request's If-None-Match (or, without it, If-Modified-Since) says the client holds this version: answer 304. */
export function notModified(c: Context, etag: string, file: Pick<Stats, 'mtimeMs'>): boolean {
  const ifNoneMatch = c.req.header('if-none-match');
  if (ifNoneMatch !== undefined) return ifNoneMatch.split(',').some((tag) => tag.trim() === etag || tag.trim() === '*');
  const ifModifiedSince = c.req.header('if-modified-since');
  // HTTP dates have whole seconds
  return ifModifiedSince !== undefined && Math.floor(file.mtimeMs / 1000) * 1000 <= Date.parse(ifModifiedSince);
}
