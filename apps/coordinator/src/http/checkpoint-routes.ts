import { closeSync, createReadStream, existsSync, fstatSync, openSync, readdirSync, statSync, type Stats } from 'node:fs';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { CONFIG_FILE, MODEL_FILE } from '@openshard/model';
import type { CheckpointFile, CheckpointView, ValidationPoint } from '@openshard/protocol';
import { MODEL_CARD_FILE } from '@openshard/trainer';
import { Hono } from 'hono';
import type { RunStore } from '../store/stores.ts';
import { etagOf, notModified } from './conditional.ts';
import { HttpError } from './http-error.ts';

/**
 * The latest committed checkpoint, for researchers to take the model:
 *   GET /checkpoints/latest         → CheckpointView (round, validation loss, the files below); 404 before the first
 *   GET /checkpoints/latest/<file>  → the file, streamed; only the Hugging Face folder's files, never the
 *                                     optimizer state or trainer.json, and never a path; revalidated
 *                                     (ETag, Last-Modified): a 304 while the client holds this version
 * Only committed checkpoints are offered: a folder being written is not committed yet.
 */
export const CHECKPOINT_FILES: Readonly<Record<string, { type: string; attachment: boolean }>> = {
  [MODEL_FILE]: { type: 'application/octet-stream', attachment: true },
  [CONFIG_FILE]: { type: 'application/json', attachment: false },
  [MODEL_CARD_FILE]: { type: 'text/markdown; charset=utf-8', attachment: false },
  'generation_config.json': { type: 'application/json', attachment: false },
};
/** The order files are listed in: the weights, the config, the card, then the rest. */
const LISTED = Object.keys(CHECKPOINT_FILES);

/** The checkpoint a run resumes from, as committed in the store. */
export interface CommittedCheckpoint {
  /** Rounds completed. */
  round: number;
  folder: string;
  /** The latest validation loss measured at or before `round`. */
  validation: ValidationPoint | null;
}

/** The run's latest committed checkpoint in the store; null before the first (or when the store's latest run is another). */
export function committedCheckpoint(store: RunStore, runId: string): () => Promise<CommittedCheckpoint | null> {
  return async () => {
    const run = await store.latestRun();
    if (run?.id !== runId || !run.checkpoint) return null;
    const round = run.checkpointRound;
    const measured = (await store.metrics(runId, 'validationLoss')).filter((m) => m.round <= round).at(-1);
    return { round, folder: run.checkpoint, validation: measured ? { round: measured.round, loss: measured.value, at: measured.at } : null };
  };
}

export function checkpointRoutes(latest: () => Promise<CommittedCheckpoint | null>) {
  const committed = async (): Promise<CommittedCheckpoint> => {
    const c = await latest();
    if (!c) throw new HttpError(404, 'no-checkpoint', 'no checkpoint has been committed yet: the first is written after --checkpoint-every rounds');
    return c;
  };
  return new Hono()
    .get('/checkpoints/latest', async (c) => {
      c.header('cache-control', 'no-store');
      const ckpt = await committed();
      const present = new Set(readdirSync(ckpt.folder));
      const files: CheckpointFile[] = LISTED.filter((name) => present.has(name)).map((name) => ({
        name,
        bytes: statSync(join(ckpt.folder, name)).size,
        url: `/checkpoints/latest/${name}`,
      }));
      const view: CheckpointView = { round: ckpt.round, name: basename(ckpt.folder), validation: ckpt.validation, files };
      return c.json(view);
    })
    .get('/checkpoints/latest/:file', async (c) => {
      const name = c.req.param('file');
      const kind = Object.hasOwn(CHECKPOINT_FILES, name) ? CHECKPOINT_FILES[name] : undefined;
      if (!kind) throw new HttpError(404, 'not-a-checkpoint-file', `'${name.slice(0, 64)}' is not offered; a checkpoint's files are ${LISTED.join(', ')}`);
      const ckpt = await committed();
      // kept by the client but revalidated: the same file of the same checkpoint is a 304, a newer checkpoint's is sent
      const headers = (file: Stats) => {
        const etag = etagOf(file);
        c.header('cache-control', 'no-cache');
        c.header('etag', etag);
        c.header('last-modified', file.mtime.toUTCString());
        c.header('x-checkpoint-round', String(ckpt.round));
        if (notModified(c, etag, file)) return false;
        c.header('content-type', kind.type);
        c.header('content-length', String(file.size));
        c.header('content-disposition', `${kind.attachment ? 'attachment' : 'inline'}; filename="${name}"`);
        return true;
      };
      // HEAD opens nothing: Hono drops a GET body unread, which would leave its file open
      if (c.req.method === 'HEAD') {
        const path = join(ckpt.folder, name);
        if (!existsSync(path)) throw new HttpError(404, 'not-in-checkpoint', `the checkpoint of round ${ckpt.round} (${basename(ckpt.folder)}) has no ${name}`);
        return headers(statSync(path)) ? c.body(null) : c.body(null, 304);
      }
      // opened before answering: a newer checkpoint may rotate this folder away while it streams
      let fd: number;
      try {
        fd = openSync(join(ckpt.folder, name), 'r');
      } catch {
        throw new HttpError(404, 'not-in-checkpoint', `the checkpoint of round ${ckpt.round} (${basename(ckpt.folder)}) has no ${name}`);
      }
      let file: Stats;
      try {
        file = fstatSync(fd);
      } catch (e) {
        closeSync(fd);
        throw e;
      }
      if (!headers(file)) {
        closeSync(fd);
        return c.body(null, 304);
      }
      return c.body(Readable.toWeb(createReadStream('', { fd })) as ReadableStream<Uint8Array>);
    });
}
