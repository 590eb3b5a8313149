import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CpuBackend } from '@openshard/tensor';
import { afterAll, describe, expect, test } from 'vitest';
import { encodeConfig, encodeModel } from '../src/index.ts';
import { perturbedValues, shardsFrom, TOY } from './helpers.ts';

const SCRIPT = fileURLToPath(new URL('../scripts/hf_gpt2_reference.py', import.meta.url));
/** The first Python that has numpy: the one on PATH, or Debian's (`apt-get install python3-numpy`). */
const PYTHON = ['python3', '/usr/bin/python3'].find((py) => spawnSync(py, ['-c', 'import numpy']).status === 0);
/** Our f32 forward against a float64 reference of the same weights. */
const LOGIT_ATOL = 1e-5;

describe('Hugging Face layout', () => {
  const dir = mkdtempSync(join(tmpdir(), 'openshard-hf-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // python3 with numpy is on Debian machines of this project; elsewhere this test says why it skipped
  test.skipIf(!PYTHON)('behavior: a checkpoint read the way GPT2LMHeadModel reads it gives our logits (numpy reference of modeling_gpt2)', async () => {
    const values = perturbedValues(TOY, 21);
    writeFileSync(join(dir, 'config.json'), encodeConfig(TOY));
    writeFileSync(join(dir, 'model.safetensors'), encodeModel(TOY, values));
    const ids = [3, 17, 0, 22, 9, 9, 4];
    const r = spawnSync(PYTHON!, [SCRIPT, dir, JSON.stringify(ids)], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const reference: number[][] = JSON.parse(r.stdout);
    const be = new CpuBackend();
    const shards = shardsFrom(be, TOY, 2, values);
    let x = shards[0].tokens(Int32Array.from(ids), 1, ids.length);
    for (const s of shards) x = s.forward(x);
    const logits = await be.read(x);
    let worst = 0;
    reference.forEach((row, t) => row.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - logits[t * TOY.vocabSize + j])))));
    expect(worst).toBeLessThanOrEqual(LOGIT_ATOL);
  });
});
