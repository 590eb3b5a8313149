import { expect, test } from 'vitest';
import { CpuBackend } from '../src/cpu/backend.ts';
import { parityCases, runParity } from '../src/parity.ts';
import { matmulPathCases } from './matmul-parity-cases.ts';
import { nodeWebGpu } from './webgpu-node.ts';

const gpu = await nodeWebGpu();
const cpu = new CpuBackend();

test.each([...parityCases, ...matmulPathCases].map((c) => [c.name, c] as const))('behavior: WebGPU (Dawn) matches the CPU reference: %s', async (_name, c) => {
  const rows = await runParity(cpu, gpu, [c]);
  expect(rows.length).toBeGreaterThan(0);
  for (const r of rows) expect(r, `${r.output}: max |Δ| ${r.maxAbsError}`).toMatchObject({ ok: true });
});
