import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const RUNS = 10;
const script = fileURLToPath(new URL('../scripts/stress-dawn.ts', import.meta.url));

// Before the fix in src/webgpu/node-gpu.ts this failed 3 runs of 3 (SIGSEGV / SIGABRT in Dawn).
test(`behavior: the Node WebGPU path survives ${RUNS} runs of thousands of mixed dispatches under GC pressure`, () => {
  const res = spawnSync(process.execPath, ['--import', 'tsx', script, '--runs', String(RUNS)], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  const summary = res.stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('run ') || l.includes('runs passed'));
  expect(summary.at(-1), res.stdout + res.stderr).toBe(`${RUNS}/${RUNS} runs passed`);
  expect(res.status).toBe(0);
}, 600_000);
