/**
 * Stress test of the Node WebGPU path (npm `webgpu`, Dawn): each run is a fresh process doing
 * thousands of mixed dispatches with awaits and readbacks, checked against the CPU reference,
 * while churning the JS heap and forcing garbage collections — the conditions under which
 * dawn.node used to crash (see src/webgpu/node-gpu.ts). Exit code 0 only if every run passes.
 *
 *   node --import tsx packages/tensor/scripts/stress-dawn.ts [--runs 10] [--dispatches 3000]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CpuBackend } from '../src/cpu/backend.ts';
import { Random } from '../src/random.ts';
import type { Backend } from '../src/backend.ts';
import type { Tensor } from '../src/tensor.ts';
import { createNodeWebGpuBackend } from '../src/webgpu/node-gpu.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    dispatches: { type: 'string', default: '3000' },
    seed: { type: 'string', default: '1' },
    child: { type: 'boolean', default: false },
  },
});

/** Relative tolerance of the spot checks against the CPU backend. */
const CHECK_RTOL = 1e-3;

type Op = (be: Backend, rng: Random, x: Tensor) => Tensor;
const ops: Op[] = [
  (be, _r, x) => be.gelu(x),
  (be, _r, x) => be.add(x, x),
  (be, _r, x) => be.matmul(x, x, { transB: true }),
  (be, _r, x) => be.columnSum(x),
  (be, _r, x) => {
    const w = be.columnSum(x);
    const r = be.layernorm(x, w, w, 1e-5);
    [w, r.mean, r.rstd].forEach((t) => t.dispose());
    return r.out;
  },
  (be, _r, x) => {
    const targets = be.upload(new Int32Array(x.shape[0]), [x.shape[0]]);
    const r = be.crossEntropy(x, targets);
    [targets, r.losses].forEach((t) => t.dispose());
    return r.probs;
  },
];

async function child(seed: number, dispatches: number): Promise<void> {
  const gpu = await createNodeWebGpuBackend();
  const cpu = new CpuBackend();
  const rng = new Random(seed);
  let done = 0;
  let checks = 0;
  const churn: unknown[] = [];
  while (done < dispatches) {
    const rows = rng.int(1, 40);
    const cols = rng.int(1, 70);
    const data = rng.normals(rows * cols);
    const op = ops[rng.int(0, ops.length - 1)];
    const g = gpu.upload(data, [rows, cols]);
    const out = op(gpu, rng, g);
    done += 3;
    // Garbage the way a trainer makes it: arrays, closures, promises, then a collection.
    churn.push(new Float64Array(rng.int(1, 50_000)), { step: done }, () => done);
    if (churn.length > 300) churn.length = 0;
    if (rng.next() < 0.05) (globalThis as { gc?: () => void }).gc?.();
    if (rng.next() < 0.2) {
      const got = await gpu.read(out);
      const want = await cpu.read(op(cpu, rng, cpu.upload(data, [rows, cols])));
      for (let i = 0; i < want.length; i++) {
        if (!(Math.abs(got[i] - want[i]) <= CHECK_RTOL * (1 + Math.abs(want[i])))) {
          throw new Error(`dispatch ${done}: element ${i} is ${got[i]}, CPU says ${want[i]}`);
        }
      }
      checks += 1;
    } else if (rng.next() < 0.3) {
      await gpu.sync();
    }
    out.dispose();
    g.dispose();
  }
  await gpu.sync();
  gpu.destroy();
  console.log(`ok: ${done} dispatches, ${checks} readbacks checked`);
}

function parent(runs: number): number {
  const script = fileURLToPath(import.meta.url);
  let failed = 0;
  for (let r = 1; r <= runs; r++) {
    const t0 = performance.now();
    const res = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', script, '--child', '--seed', String(r), '--dispatches', values.dispatches!], { encoding: 'utf8', timeout: 300_000 });
    const ok = res.status === 0 && res.signal === null;
    if (!ok) failed += 1;
    const how = ok ? res.stdout.trim() : `exit ${res.status} signal ${res.signal}: ${(res.stderr || res.stdout).trim().split('\n').slice(-3).join(' | ')}`;
    console.log(`run ${r}/${runs}: ${ok ? 'pass' : 'FAIL'} (${((performance.now() - t0) / 1000).toFixed(1)} s) ${how}`);
  }
  console.log(`${runs - failed}/${runs} runs passed`);
  return failed === 0 ? 0 : 1;
}

if (values.child) {
  await child(Number(values.seed), Number(values.dispatches));
  process.exit(0);
} else {
  process.exit(parent(Number(values.runs)));
}
