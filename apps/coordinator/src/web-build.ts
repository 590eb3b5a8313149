import { existsSync, readdirSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, where vite.config.ts is. */
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/** Where `vite build` writes the web app (vite.config.ts, build.outDir). */
export const WEB_BUILD_DIR = join(ROOT, 'dist', 'web');
/** Written by every build (the output folder is emptied first); ensureWebBuild sets its mtime to when the build started. */
const BUILD_MARKER = join(WEB_BUILD_DIR, 'index.html');

/** The workspace packages (`@openshard/<name>` in packages/<name>) a package depends on, directly or not. */
function workspaceDependencies(folder: string, found = new Set<string>()): Set<string> {
  const manifest = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  for (const name of Object.keys(manifest.dependencies ?? {})) {
    const dependency = /^@openshard\/(.+)$/.exec(name)?.[1];
    if (dependency === undefined || found.has(dependency)) continue;
    found.add(dependency);
    workspaceDependencies(join(ROOT, 'packages', dependency), found);
  }
  return found;
}

/**
 * What the build is made from: the app, the sources and exports maps of the packages it imports,
 * the build config and the installed versions. Tests, benchmarks and packages the app does not
 * import (the trainer, the coordinator) are not, so editing them rebuilds nothing.
 */
function buildInputs(): string[] {
  const web = join(ROOT, 'apps/web');
  const packages = [...workspaceDependencies(web)].flatMap((p) => [join(ROOT, 'packages', p, 'src'), join(ROOT, 'packages', p, 'package.json')]);
  return [join(web, 'src'), join(web, 'public'), join(web, 'index.html'), join(web, 'package.json'), ...packages, join(ROOT, 'vite.config.ts'), join(ROOT, 'package-lock.json')];
}

/** The most recently modified file under `path` (itself, if a file), or null when there is none. */
function newestFile(path: string): { path: string; mtimeMs: number } | null {
  if (!existsSync(path)) return null;
  const s = statSync(path);
  if (s.isFile()) return { path, mtimeMs: s.mtimeMs };
  let newest: { path: string; mtimeMs: number } | null = null;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const found = newestFile(join(path, entry.name));
    if (found && (!newest || found.mtimeMs > newest.mtimeMs)) newest = found;
  }
  return newest;
}

/** Why the web app must be built again, or null when dist/web is newer than everything it is made from. */
export function webBuildStaleness(): string | null {
  if (!existsSync(BUILD_MARKER)) return `${relative(ROOT, WEB_BUILD_DIR)} has no build`;
  const built = statSync(BUILD_MARKER).mtimeMs;
  let newest: { path: string; mtimeMs: number } | null = null;
  for (const input of buildInputs()) {
    const found = newestFile(input);
    if (found && (!newest || found.mtimeMs > newest.mtimeMs)) newest = found;
  }
  return newest && newest.mtimeMs > built ? `${relative(ROOT, newest.path)} changed after the build` : null;
}

/**
 * Builds the web app into dist/web when it is stale (`vite build`, as `npm run build` does), saying
 * why and how long it took; returns the folder.
 */
export async function ensureWebBuild(log: (line: string) => void = console.log): Promise<string> {
  const stale = webBuildStaleness();
  if (!stale) return WEB_BUILD_DIR;
  log(`building the web app into ${relative(ROOT, WEB_BUILD_DIR)} (${stale})…`);
  const started = Date.now();
  const { build } = await import('vite');
  await build({ configFile: join(ROOT, 'vite.config.ts'), logLevel: 'warn' });
  // a source saved while the build ran is newer than its start: the next start builds again
  utimesSync(BUILD_MARKER, new Date(started), new Date(started));
  log(`built the web app in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return WEB_BUILD_DIR;
}
