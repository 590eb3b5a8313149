/**
 * npm run bench:kernels [-- --quick] [--no-browser] [--out bench-results/kernels.json]
 *
 * Throughput of every op on the CPU reference and on WebGPU in Node (Dawn), then our WebGPU
 * matmul against onnxruntime-web's MatMul (Gemm for transposed inputs; webgpu and wasm
 * providers) inside Chromium on the same adapter. The matmul kernel as it was before issue 17
 * (bench/matmul-before.wgsl.ts) runs beside the current one, in Node and in Chromium. Prints
 * tables and writes JSON.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import os from 'node:os';
import { chromium } from '@playwright/test';
import type { Backend } from '../src/backend.ts';
import { CpuBackend } from '../src/cpu/backend.ts';
import { Random } from '../src/random.ts';
import type { Tensor } from '../src/tensor.ts';
import type { WebGpuBackend } from '../src/webgpu/backend.ts';
import { createNodeWebGpuBackend } from '../src/webgpu/node-gpu.ts';
import { chromiumLaunchOptions } from '../test/browser/chromium.ts';
import { repoRootPath, startPageServer } from '../test/browser/harness-server.ts';
import type { MatmulBenchResult } from './browser/bench-page.ts';
import { matmulBefore } from './matmul-before.wgsl.ts';
import { MODEL_MATMULS, describeShape, matmulFlops, operandShapes, timeRepeated, type MatmulShape } from './timing.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'no-browser': { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench-results/kernels.json' },
  },
});
const MIN_MS = args.quick ? 150 : 600;

interface OpCase {
  op: string;
  shape: string;
  /** Work of one call: FLOPs for compute-bound ops, bytes moved for memory-bound ones. */
  work: number;
  unit: 'GFLOP/s' | 'GB/s';
  setup(be: Backend, rng: Random): { run: () => Tensor; inputs: Tensor[] };
}

const T = { B: 8, T: 64, C: 128, H: 4, V: 256 };
const rows = T.B * T.T;

function matmulCase(s: MatmulShape): OpCase {
  return {
    op: 'matmul',
    shape: describeShape(s),
    work: matmulFlops(s),
    unit: 'GFLOP/s',
    setup: (be, rng) => {
      const dims = operandShapes(s);
      const a = be.upload(rng.normals(s.M * s.K), dims.a);
      const b = be.upload(rng.normals(s.K * s.N), dims.b);
      return { run: () => be.matmul(a, b, { transA: s.transA, transB: s.transB }), inputs: [a, b] };
    },
  };
}

const opCases: OpCase[] = [
  ...MODEL_MATMULS.map(matmulCase),
  {
    op: 'layernorm',
    shape: `${rows}×${T.C}`,
    work: 2 * rows * T.C * 4,
    unit: 'GB/s',
    setup: (be, rng) => {
      const x = be.upload(rng.normals(rows * T.C), [rows, T.C]);
      const w = be.upload(rng.normals(T.C), [T.C]);
      return {
        run: () => {
          const r = be.layernorm(x, w, w, 1e-5);
          r.mean.dispose();
          r.rstd.dispose();
          return r.out;
        },
        inputs: [x, w],
      };
    },
  },
  {
    op: 'gelu',
    shape: `${rows}×${4 * T.C}`,
    work: 2 * rows * 4 * T.C * 4,
    unit: 'GB/s',
    setup: (be, rng) => {
      const x = be.upload(rng.normals(rows * 4 * T.C), [rows, 4 * T.C]);
      return { run: () => be.gelu(x), inputs: [x] };
    },
  },
  {
    op: 'attention',
    shape: `B=${T.B} T=${T.T} C=${T.C} H=${T.H}`,
    work: 2 * 2 * T.B * T.T * T.T * T.C,
    unit: 'GFLOP/s',
    setup: (be, rng) => {
      const qkv = be.upload(rng.normals(rows * 3 * T.C), [T.B, T.T, 3 * T.C]);
      return {
        run: () => {
          const r = be.attention(qkv, T.H);
          r.att.dispose();
          return r.out;
        },
        inputs: [qkv],
      };
    },
  },
  {
    op: 'matmulBackward',
    shape: `attn qkv (tiny) ${rows}×${T.C}·${T.C}×${3 * T.C} +bias`,
    work: 2 * matmulFlops({ name: '', M: rows, K: T.C, N: 3 * T.C }),
    unit: 'GFLOP/s',
    setup: (be, rng) => {
      const a = be.upload(rng.normals(rows * T.C), [rows, T.C]);
      const w = be.upload(rng.normals(T.C * 3 * T.C), [T.C, 3 * T.C]);
      const bias = be.upload(rng.normals(3 * T.C), [3 * T.C]);
      const d = be.upload(rng.normals(rows * 3 * T.C), [rows, 3 * T.C]);
      return {
        run: () => {
          const g = be.matmulBackward(d, a, w, { bias });
          g.dB.dispose();
          g.dBias!.dispose();
          return g.dA;
        },
        inputs: [a, w, bias, d],
      };
    },
  },
  {
    op: 'layernormBackward',
    shape: `${rows}×${T.C}`,
    work: 3 * rows * T.C * 4,
    unit: 'GB/s',
    setup: (be, rng) => {
      const x = be.upload(rng.normals(rows * T.C), [rows, T.C]);
      const w = be.upload(rng.normals(T.C), [T.C]);
      const f = be.layernorm(x, w, w, 1e-5);
      return {
        run: () => {
          const g = be.layernormBackward(x, x, w, f.mean, f.rstd);
          g.dWeight.dispose();
          g.dBias.dispose();
          return g.dx;
        },
        inputs: [x, w, f.out, f.mean, f.rstd],
      };
    },
  },
  {
    op: 'attentionBackward',
    shape: `B=${T.B} T=${T.T} C=${T.C} H=${T.H}`,
    work: 4 * 2 * T.B * T.T * T.T * T.C,
    unit: 'GFLOP/s',
    setup: (be, rng) => {
      const qkv = be.upload(rng.normals(rows * 3 * T.C), [T.B, T.T, 3 * T.C]);
      const d = be.upload(rng.normals(rows * T.C), [T.B, T.T, T.C]);
      const f = be.attention(qkv, T.H);
      return { run: () => be.attentionBackward(d, qkv, f.att, T.H), inputs: [qkv, d, f.out, f.att] };
    },
  },
  {
    op: 'crossEntropy',
    shape: `${rows}×${T.V}`,
    work: 2 * rows * T.V * 4,
    unit: 'GB/s',
    setup: (be, rng) => {
      const logits = be.upload(rng.normals(rows * T.V), [rows, T.V]);
      const targets = be.upload(rng.ints(rows, 0, T.V - 1), [rows]);
      return {
        run: () => {
          const r = be.crossEntropy(logits, targets);
          r.probs.dispose();
          return r.losses;
        },
        inputs: [logits, targets],
      };
    },
  },
];

interface Row {
  where: string;
  implementation: string;
  op: string;
  shape: string;
  msPerCall: number;
  rate: number;
  unit: string;
}

async function benchNode(be: Backend, label: string): Promise<Row[]> {
  const out: Row[] = [];
  for (const c of opCases) {
    const { run, inputs } = c.setup(be, new Random(1));
    const t = await timeRepeated(
      async (reps) => {
        for (let i = 0; i < reps; i++) run().dispose();
        await be.sync();
      },
      MIN_MS,
      2,
    );
    inputs.forEach((x) => x.dispose());
    out.push({ where: 'node', implementation: label, op: c.op, shape: c.shape, msPerCall: t.msPerRep, rate: c.work / t.msPerRep / 1e6, unit: c.unit });
  }
  return out;
}

/** The matmul kernel before issue 17 on the same Dawn backend, writing into one reused output. */
async function benchNodeBefore(gpu: WebGpuBackend, label: string): Promise<Row[]> {
  const out: Row[] = [];
  for (const s of MODEL_MATMULS) {
    const rng = new Random(1);
    const dims = operandShapes(s);
    const a = gpu.upload(rng.normals(s.M * s.K), dims.a);
    const b = gpu.upload(rng.normals(s.K * s.N), dims.b);
    const result = gpu.zeros([s.M, s.N]);
    const t = await timeRepeated(
      async (reps) => {
        for (let i = 0; i < reps; i++) matmulBefore(gpu, result, a, b, { transA: s.transA, transB: s.transB });
        await gpu.sync();
      },
      MIN_MS,
      2,
    );
    for (const x of [a, b, result]) x.dispose();
    out.push({ where: 'node', implementation: label, op: 'matmul', shape: describeShape(s), msPerCall: t.msPerRep, rate: matmulFlops(s) / t.msPerRep / 1e6, unit: 'GFLOP/s' });
  }
  return out;
}

async function benchChromium(): Promise<{ adapter: unknown; crossOriginIsolated: boolean; threads: number; rows: Row[] }> {
  const server = await startPageServer(fileURLToPath(new URL('./browser/', import.meta.url)));
  const browser = await chromium.launch(chromiumLaunchOptions);
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(server.url);
    await page.waitForFunction(() => document.getElementById('log')?.textContent === 'ready');
    const ortDist = `${resolve(repoRootPath, 'node_modules/onnxruntime-web/dist')}/`;
    await page.evaluate((d) => Object.assign(window, { ORT_DIST: d }), ortDist);
    const res = await page.evaluate(([shapes, minMs]) => (window as unknown as { benchApi: { matmul(s: unknown, m: number): Promise<MatmulBenchResult> } }).benchApi.matmul(shapes, minMs), [
      MODEL_MATMULS,
      MIN_MS,
    ] as const);
    const rowsOut: Row[] = res.rows.map((r) => ({
      where: 'chromium',
      implementation: r.implementation,
      op: 'matmul',
      shape: describeShape(r.shape),
      msPerCall: r.msPerRep,
      rate: matmulFlops(r.shape) / r.msPerRep / 1e6,
      unit: 'GFLOP/s',
    }));
    return { adapter: res.adapter, crossOriginIsolated: res.crossOriginIsolated, threads: res.threads, rows: rowsOut };
  } finally {
    await browser.close();
    await server.close();
  }
}

function printTable(title: string, rs: Row[]): void {
  console.log(`\n${title}`);
  console.log(`${'implementation'.padEnd(24)} ${'op'.padEnd(18)} ${'shape'.padEnd(46)} ${'ms/call'.padStart(10)} ${'rate'.padStart(10)}`);
  for (const r of rs) {
    console.log(`${r.implementation.padEnd(24)} ${r.op.padEnd(18)} ${r.shape.padEnd(46)} ${r.msPerCall.toFixed(3).padStart(10)} ${r.rate.toFixed(3).padStart(10)} ${r.unit}`);
  }
}

const cpuInfo = `${os.cpus()[0]?.model ?? 'unknown CPU'} × ${os.cpus().length}`;
console.log(`kernel benchmark on ${cpuInfo}${args.quick ? ' (quick)' : ''}`);
const gpu = await createNodeWebGpuBackend();
console.log(`Node WebGPU adapter: ${gpu.adapterName}`);
const nodeRows = [...(await benchNode(new CpuBackend(), 'cpu (reference)')), ...(await benchNodeBefore(gpu, 'webgpu (dawn) before #17')), ...(await benchNode(gpu, 'webgpu (dawn)'))];
const nodeAdapter = gpu.adapterSummary;
gpu.destroy();
printTable(`Node — CPU reference and WebGPU on ${adapterLabel(nodeAdapter)}`, nodeRows);

let chromiumResult: Awaited<ReturnType<typeof benchChromium>> | null = null;
/** Our WebGPU matmul's GFLOP/s over onnxruntime-web webgpu's, per shape; the goal is ≥ 1. */
const ratios: Record<string, number> = {};
/** Per shape, Chromium: GFLOP/s of the kernel before issue 17, of the current one, and of onnxruntime-web webgpu. */
const matmulSummary: { shape: string; before: number; now: number; onnxruntimeWebgpu: number; nowOverBefore: number; nowOverOnnxruntime: number }[] = [];
if (!args['no-browser']) {
  chromiumResult = await benchChromium();
  printTable(
    `Chromium — matmul on ${adapterLabel(chromiumResult.adapter as typeof nodeAdapter)}; onnxruntime-web wasm with ${chromiumResult.threads} threads (crossOriginIsolated ${chromiumResult.crossOriginIsolated})`,
    chromiumResult.rows,
  );
  console.log('\nChromium matmul, GFLOP/s: before issue 17, now, onnxruntime-web webgpu (same adapter, same page)');
  console.log(`${'shape'.padEnd(46)} ${'before'.padStart(8)} ${'now'.padStart(8)} ${'ort-gpu'.padStart(8)} ${'now/bef'.padStart(8)} ${'now/ort'.padStart(8)}`);
  for (const s of MODEL_MATMULS) {
    const shape = describeShape(s);
    const rate = (impl: string) => chromiumResult!.rows.find((r) => r.implementation === impl && r.shape === shape)!.rate;
    const row = { shape, before: rate('openshard webgpu before #17'), now: rate('openshard webgpu'), onnxruntimeWebgpu: rate('onnxruntime-web webgpu') };
    const summary = { ...row, nowOverBefore: row.now / row.before, nowOverOnnxruntime: row.now / row.onnxruntimeWebgpu };
    matmulSummary.push(summary);
    ratios[s.name] = summary.nowOverOnnxruntime;
    const cells = [summary.before, summary.now, summary.onnxruntimeWebgpu].map((g) => g.toFixed(3).padStart(8));
    console.log(`${shape.padEnd(46)} ${cells.join(' ')} ${`${summary.nowOverBefore.toFixed(2)}×`.padStart(8)} ${`${summary.nowOverOnnxruntime.toFixed(2)}×`.padStart(8)}`);
  }
}

function adapterLabel(a: { vendor: string; architecture: string; description: string }): string {
  return [a.vendor, a.architecture, a.description].filter(Boolean).join(' ');
}

const outPath = resolve(repoRootPath, args.out!);
mkdirSync(dirname(outPath), { recursive: true });
writeFileSync(
  outPath,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      machine: { cpu: cpuInfo, node: process.version },
      node: { adapter: nodeAdapter, rows: nodeRows.filter((r) => r.where === 'node') },
      chromium: chromiumResult,
      oursOverOnnxruntimeWebgpu: ratios,
      matmulSummary,
    },
    null,
    2,
  ),
);
console.log(`\nwrote ${outPath}`);
process.exit(0);
