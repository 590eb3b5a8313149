import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DashboardEvent, DashboardSnapshot, LiveStats, RoundPoint, ValidationPoint } from '@openshard/protocol';
import { io, type Socket } from 'socket.io-client';
import { createServer, type ViteDevServer } from 'vite';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/** Waiting for the coordinator to print its address (ms): loading the corpus and a validation pass. */
const COORDINATOR_START_MS = 60_000;

export interface CoordinatorProcess {
  url: string;
  dataDir: string;
  child: ChildProcess;
  output: string[];
  /** SIGKILL, as a crash: the data folder stays for a restart. */
  crash(): Promise<void>;
  /** SIGTERM, then the data folder is removed. */
  stop(): Promise<void>;
}

/**
 * The coordinator CLI as `npm run coordinator` runs it (or, with `npmStart`, `npm start` itself),
 * on a free port with its own data folder; or, to restart one, on the port and data folder it had.
 */
export async function startCoordinatorProcess(args: string[], restart?: { port: number; dataDir: string }, npmStart = false): Promise<CoordinatorProcess> {
  const dataDir = restart?.dataDir ?? mkdtempSync(join(tmpdir(), 'openshard-web-'));
  const port = String(restart?.port ?? 0);
  const own = [...args, '--port', port, '--data-dir', dataDir];
  // npm start runs in its own process group, so that stopping it stops the coordinator under npm too
  const child = npmStart
    ? spawn('npm', ['start', '--', ...own], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    : spawn(process.execPath, ['--import', 'tsx', 'apps/coordinator/src/cli.ts', ...own], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the coordinator did not start in ${COORDINATOR_START_MS} ms:\n${output.join('')}`)), COORDINATOR_START_MS);
    const onData = (d: Buffer) => {
      output.push(d.toString());
      const m = /^coordinator: (http:\/\/\S+)/m.exec(output.join(''));
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
    child.on('exit', (code) => reject(new Error(`the coordinator exited with ${code}:\n${output.join('')}`)));
  });
  const kill = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.on('exit', r));
    if (npmStart) process.kill(-child.pid!, signal);
    else child.kill(signal);
    await exited;
  };
  return {
    url,
    dataDir,
    child,
    output,
    crash: () => kill('SIGKILL'),
    async stop() {
      await kill('SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** `vite build` takes ~20 s on 2 cores; a loaded machine, several times that. */
export const BUILD_TIMEOUT_MS = 240_000;

/** Builds the web app into dist/web if it is stale, as the CLI's --web would at start-up (kept out of its start-up timeout). */
export function buildWebApp(): void {
  const script = "const { ensureWebBuild } = await import('./apps/coordinator/src/web-build.ts'); await ensureWebBuild();";
  const log = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], { cwd: ROOT, timeout: BUILD_TIMEOUT_MS, encoding: 'utf8' });
  if (log) console.log(log.trim());
}

/** The web app's dev server, proxying /socket.io to `coordinatorUrl` as `npm start` does. */
export async function startWebApp(coordinatorUrl: string): Promise<{ url: string; server: ViteDevServer }> {
  process.env.OPENSHARD_COORDINATOR_URL = coordinatorUrl;
  const server = await createServer({ configFile: join(ROOT, 'vite.config.ts'), server: { port: 0 }, logLevel: 'warn' });
  await server.listen();
  const address = server.httpServer!.address();
  return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`, server };
}

/** What the test sees of the run, through the same namespace the dashboard uses. */
export class RunObserver {
  readonly rounds: RoundPoint[] = [];
  readonly validation: ValidationPoint[] = [];
  readonly events: DashboardEvent[] = [];
  stats: LiveStats | null = null;
  private readonly socket: Socket;

  constructor(coordinatorUrl: string) {
    this.socket = io(`${coordinatorUrl}/dashboard`, { transports: ['websocket'] });
    this.socket.on('snapshot', (s: DashboardSnapshot) => {
      this.rounds.splice(0, Infinity, ...s.rounds);
      this.validation.splice(0, Infinity, ...s.validation);
    });
    this.socket.on('round', (r: RoundPoint) => this.rounds.push(r));
    this.socket.on('validation', (v: ValidationPoint) => this.validation.push(v));
    this.socket.on('event', (e: DashboardEvent) => this.events.push(e));
    this.socket.on('stats', (s: LiveStats) => (this.stats = s));
  }

  /** Polls `check` until it returns something truthy. */
  async until<T>(check: () => T | null | undefined | false, what: string, ms: number): Promise<T> {
    const started = Date.now();
    for (;;) {
      const v = check();
      if (v) return v as T;
      if (Date.now() - started > ms) {
        throw new Error(
          `timed out after ${ms} ms waiting for ${what}; rounds ${this.rounds.length}, volunteers ${JSON.stringify(this.stats?.volunteers ?? [])}, events ${JSON.stringify(this.events.slice(-5))}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  close(): void {
    this.socket.disconnect();
  }
}
