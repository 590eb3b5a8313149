import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, describe, expect, test } from 'vitest';
import type { SignInOptions } from '../src/sign-in.ts';
import { DEFAULT_COORDINATOR, startCoordinator, type CoordinatorOptions, type RunningCoordinator } from '../src/start-coordinator.ts';

/** anvil's first dev account */
const ALICE_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const ALICE = privateKeyToAccount(ALICE_KEY).address;
/** Sessions this short expire twice within the test; renewed with a fifth of their life left (2 s, ample for a restart). */
const SESSION_TTL_MS = 10_000;

const dirs: string[] = [];
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** A Node volunteer (the CLI) whose log lines are kept; `after(n, re)` is the first line from the n-th on that matches. */
function volunteer(url: string, ...args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'packages/volunteer/src/cli.ts', '--url', url, '--name', 'alice', '--no-serve', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  const lines: string[] = [];
  let buffered = '';
  const take = (d: Buffer) => {
    buffered += d.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts);
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  const after = async (from: number, re: RegExp, timeout = 60_000): Promise<{ line: string; at: number }> => {
    let found = -1;
    await expect.poll(() => (found = lines.findIndex((l, i) => i >= from && re.test(l))), { timeout, interval: 50 }).toBeGreaterThanOrEqual(0);
    return { line: lines[found], at: found };
  };
  return { child, lines, exited, after };
}

function freshDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'openshard-resign-'));
  dirs.push(d);
  return d;
}

/** Rounds closed at or after `since` (Unix ms), with alice's tasks in them. */
async function aliceAfter(network: RunningCoordinator, since: number) {
  const runs = network.stores.runs;
  const closed = new Set((await runs.rounds(network.runId)).filter((r) => r.closedAt >= since).map((r) => r.round));
  return (await runs.tasks(network.runId)).filter((t) => closed.has(t.round) && t.volunteer === 'alice');
}

describe('a Node volunteer keeps its sign-in by itself (real coordinator, real CLI process)', () => {
  test('behavior: it signs in again before its session expires and whenever the coordinator refuses it; its work keeps accruing to its address', async () => {
    const dataDir = freshDir();
    const port = await freePort();
    // sessionTtlMs is SignInOptions' (startCoordinator hands its options to signInVerifier)
    const options: CoordinatorOptions & Pick<SignInOptions, 'sessionTtlMs'> = {
      ...DEFAULT_COORDINATOR,
      preset: 'micro',
      shards: 1,
      batch: 1,
      microBatches: 2,
      rounds: 1_000_000,
      port,
      dataDir,
      checkpointEvery: 20,
      evalEvery: 1_000_000,
      evalBatches: 1,
      trust: null,
      sessionTtlMs: SESSION_TTL_MS,
    };
    let network = await startCoordinator(options);
    const v = volunteer(network.server.url, '--key', ALICE_KEY);
    try {
      const first = await v.after(0, /signed in as 0x\w+ until (\S+)/);
      const expiresAt = Date.parse(/until (\S+)/.exec(first.line)![1]);
      expect(first.line).toContain(ALICE);
      await v.after(0, /joined run/);
      // renewed before the first session expired, with no refusal: the coordinator never saw a stale token
      const renewed = await v.after(first.at, /signed in again as 0x\w+ until \S+ \(the session was to expire at/);
      expect(renewed.line).toContain(ALICE);
      await expect.poll(() => Date.now() > expiresAt + 500, { timeout: SESSION_TTL_MS * 2 }).toBe(true);

      // a network blip after the first session expired: the hello carries a renewed session and is taken
      const dropped = Date.now();
      const droppedAt = v.lines.length;
      for (const socket of network.server.io.sockets.sockets.values()) socket.conn.close();
      await v.after(droppedAt, /disconnected \(transport close\)/);
      await v.after(droppedAt, /joined run/);
      await expect.poll(async () => (await aliceAfter(network, dropped)).length, { timeout: 30_000 }).toBeGreaterThanOrEqual(4);
      expect((await aliceAfter(network, dropped)).every((t) => t.address === ALICE)).toBe(true);
      expect(v.lines.filter((l) => /refused/.test(l))).toEqual([]);

      // the coordinator restarts with a new session secret: every session it issued is refused
      // ('session'), the volunteer signs in again and reconnects by itself. Right after a renewal,
      // so that the next one cannot come first.
      await v.after(droppedAt, /signed in again as 0x\w+ until \S+ \(the session was to expire at/);
      await network.close();
      rmSync(join(dataDir, 'session-secret'));
      const restartedAt = v.lines.length;
      network = await startCoordinator(options);
      await v.after(restartedAt, /the coordinator refused a message \(session\): .*bad signature/);
      const refused = await v.after(restartedAt, /the coordinator refused the session; signing in again$/);
      const signedIn = await v.after(refused.at, /^\[alice\] signed in again as 0x\w+ until \S+$/);
      expect(signedIn.line).toContain(ALICE);
      await v.after(signedIn.at, /joined run/);
      const rejoined = Date.now();
      await expect.poll(async () => (await aliceAfter(network, rejoined)).length, { timeout: 30_000 }).toBeGreaterThanOrEqual(4);
      expect((await aliceAfter(network, rejoined)).every((t) => t.address === ALICE)).toBe(true);
      expect(v.child.exitCode).toBe(null);
    } finally {
      v.child.kill('SIGKILL');
      await network.close();
    }
  }, 180_000);

  test('behavior: when the run is complete, a volunteer that does not serve says so and exits 0', async () => {
    const network = await startCoordinator({ ...DEFAULT_COORDINATOR, preset: 'micro', shards: 1, batch: 1, microBatches: 2, rounds: 2, port: 0, dataDir: freshDir(), evalBatches: 1, trust: null });
    try {
      const v = volunteer(network.server.url);
      expect(await v.exited).toBe(0);
      expect(v.lines).toContain('[alice] the run is complete after 2 rounds: nothing more to train');
    } finally {
      await network.close();
    }
  }, 60_000);
});
