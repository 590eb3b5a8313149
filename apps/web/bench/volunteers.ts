/**
 * npm run bench:volunteers [-- --preset tiny] [--rounds 4] [--out bench-results/volunteers.json]
 *
 * Task throughput of one volunteer holding the whole model (one shard: every task is a
 * micro-batch's loss and backward), each peer against its own coordinator process on loopback,
 * on this machine: a Node volunteer on the CPU backend (the reference peer), a Chromium tab on
 * WebGPU (the volunteer worker of the web app), a Chromium tab on the CPU backend, and a Node
 * volunteer on WebGPU (Dawn) when a Vulkan driver is found. Compute time per task comes from the
 * coordinator's task log; wall time includes the wire and the coordinator. Prints a table and
 * writes JSON.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from '@playwright/test';
import Database from 'better-sqlite3';
import { chromiumLaunchOptions, chromiumWithoutWebGpu } from '../../../packages/tensor/test/browser/chromium.ts';
import { RunObserver, startCoordinatorProcess, startWebApp } from '../test/local-network.ts';

const { values: args } = parseArgs({ options: { preset: { type: 'string' }, rounds: { type: 'string' }, out: { type: 'string' } } });
const PRESET = args.preset ?? 'tiny';
const ROUNDS = Number(args.rounds ?? 4);
const OUT = args.out ?? 'bench-results/volunteers.json';
const BATCH = 4;
const MICRO_BATCHES = 4;
/** Rounds before timing starts: shader compilation, weights transfer, JIT. */
const WARMUP_ROUNDS = 1;
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

interface Row {
  peer: string;
  adapter: string;
  rounds: number;
  wallSeconds: number;
  tasksPerSecond: number;
  tokensPerSecond: number;
  medianComputeMs: number;
  computeGflops: number;
}

type Volunteer = (coordinatorUrl: string) => Promise<{ adapter: string; stop(): Promise<void> }>;

function nodeVolunteer(backend: 'cpu' | 'webgpu'): Volunteer {
  return async (url) => {
    const env = backend === 'webgpu' && !process.env.VK_ICD_FILENAMES ? { ...process.env, VK_ICD_FILENAMES: SWIFTSHADER_ICD } : process.env;
    const child = spawn(process.execPath, ['--import', 'tsx', 'packages/volunteer/src/cli.ts', '--url', url, '--backend', backend, '--name', `node-${backend}`], { stdio: 'ignore', env });
    return {
      adapter: backend === 'cpu' ? 'JavaScript' : env.VK_ICD_FILENAMES === SWIFTSHADER_ICD ? 'Dawn on SwiftShader' : `Dawn (${env.VK_ICD_FILENAMES})`,
      async stop() {
        const exited = new Promise((r) => child.on('exit', r));
        child.kill('SIGTERM');
        await exited;
      },
    };
  };
}

function browserVolunteer(backend: 'webgpu' | 'cpu'): Volunteer {
  return async (url) => {
    const web = await startWebApp(url);
    const browser = await chromium.launch(backend === 'webgpu' ? chromiumLaunchOptions : chromiumWithoutWebGpu);
    const page = await browser.newPage();
    await page.goto(`${web.url}#/contribute`);
    await page.getByRole('button', { name: backend === 'webgpu' ? 'Contribute this GPU' : 'Contribute with the CPU instead' }).click();
    await page.getByTestId('status-backend').filter({ hasText: backend }).waitFor({ timeout: 60_000 });
    const adapter = (await page.getByTestId('status-backend').textContent())!.replace(/^\w+ · /, '');
    return {
      adapter,
      async stop() {
        await browser.close();
        await web.server.close();
      },
    };
  };
}

async function measure(peer: string, start: Volunteer): Promise<Row> {
  const total = WARMUP_ROUNDS + ROUNDS;
  const coordinator = await startCoordinatorProcess([
    '--preset',
    PRESET,
    '--shards',
    '1',
    '--batch',
    String(BATCH),
    '--micro-batches',
    String(MICRO_BATCHES),
    '--rounds',
    String(total),
    '--eval-every',
    String(10 * total),
  ]);
  const observer = new RunObserver(coordinator.url);
  const volunteer = await start(coordinator.url);
  try {
    await observer.until(() => observer.rounds.length >= total, `${total} rounds of ${peer}`, 1_800_000);
    const timed = observer.rounds.slice(WARMUP_ROUNDS);
    const wallSeconds = (timed.at(-1)!.closedAt - observer.rounds[WARMUP_ROUNDS - 1].closedAt) / 1000;
    const db = new Database(join(coordinator.dataDir, 'openshard.sqlite'), { readonly: true });
    const tasks = db.prepare('SELECT compute_ms AS ms, flops FROM tasks WHERE round >= ? ORDER BY compute_ms').all(WARMUP_ROUNDS) as { ms: number; flops: number }[];
    db.close();
    const computeMs = tasks.reduce((a, t) => a + t.ms, 0);
    return {
      peer,
      adapter: volunteer.adapter,
      rounds: ROUNDS,
      wallSeconds,
      tasksPerSecond: tasks.length / wallSeconds,
      tokensPerSecond: timed.reduce((a, r) => a + r.tokens, 0) / wallSeconds,
      medianComputeMs: tasks[Math.floor(tasks.length / 2)].ms,
      computeGflops: tasks.reduce((a, t) => a + t.flops, 0) / computeMs / 1e6,
    };
  } finally {
    observer.close();
    await volunteer.stop();
    await coordinator.stop();
  }
}

const peers: [string, Volunteer][] = [
  ['node cpu', nodeVolunteer('cpu')],
  ['chromium webgpu', browserVolunteer('webgpu')],
  ['chromium cpu', browserVolunteer('cpu')],
];
if (existsSync(process.env.VK_ICD_FILENAMES ?? SWIFTSHADER_ICD)) peers.push(['node webgpu', nodeVolunteer('webgpu')]);

const rows: Row[] = [];
for (const [peer, start] of peers) {
  process.stdout.write(`${peer}… `);
  rows.push(await measure(peer, start));
  console.log(`${rows.at(-1)!.tasksPerSecond.toFixed(2)} tasks/s`);
}
const reference = rows[0];
console.log(
  `\nOne volunteer, preset ${PRESET}, one shard, batch ${BATCH} × ${MICRO_BATCHES} micro-batches, ${ROUNDS} timed rounds, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'})`,
);
console.table(
  rows.map((r) => ({
    peer: r.peer,
    adapter: r.adapter,
    'tasks/s': r.tasksPerSecond.toFixed(2),
    'tokens/s': r.tokensPerSecond.toFixed(0),
    'median compute ms': r.medianComputeMs.toFixed(0),
    'compute GFLOP/s': r.computeGflops.toFixed(2),
    'vs node cpu': `${(r.tasksPerSecond / reference.tasksPerSecond).toFixed(2)}×`,
  })),
);
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, `${JSON.stringify({ preset: PRESET, batch: BATCH, microBatches: MICRO_BATCHES, rounds: ROUNDS, cpus: os.cpus().length, rows }, null, 2)}\n`);
console.log(`wrote ${OUT}`);
process.exit(0);
