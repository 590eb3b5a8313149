import { describe, expect, test } from 'vitest';
import { INIT_STD, initParameter, parameterSpecs, preset } from '../src/index.ts';

function std(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s / v.length);
}

describe('GPT-2 initialisation', () => {
  const c = preset('tiny');
  const spec = (name: string) => parameterSpecs(c).find((p) => p.name === name)!;

  test('behavior: weights are N(0, 0.02), residual projections scaled by 1/√(2·layers), biases 0, gains 1', () => {
    expect(std(initParameter(c, spec('transformer.h.0.attn.c_attn.weight'), 1))).toBeCloseTo(INIT_STD, 3);
    expect(std(initParameter(c, spec('transformer.h.2.mlp.c_proj.weight'), 1))).toBeCloseTo(INIT_STD / Math.sqrt(8), 3);
    expect(std(initParameter(c, spec('transformer.h.2.attn.c_proj.weight'), 1))).toBeCloseTo(INIT_STD / Math.sqrt(8), 3);
    expect(initParameter(c, spec('transformer.h.1.mlp.c_fc.bias'), 1).every((x) => x === 0)).toBe(true);
    expect(initParameter(c, spec('transformer.ln_f.weight'), 1).every((x) => x === 1)).toBe(true);
  });

  test('behavior: values depend on the seed and the parameter, and are reproducible', () => {
    const a = initParameter(c, spec('transformer.wte.weight'), 7);
    expect(initParameter(c, spec('transformer.wte.weight'), 7)).toEqual(a);
    expect(initParameter(c, spec('transformer.wte.weight'), 8)).not.toEqual(a);
    expect(initParameter(c, spec('lm_head.weight'), 7)).not.toEqual(a);
  });
});
