/** Repeats `run` until at least `minMs` have passed (and at least `minReps` times); mean ms per rep. */
export async function timeRepeated(run: (reps: number) => Promise<void>, minMs: number, minReps = 3): Promise<{ msPerRep: number; reps: number }> {
  await run(1); // warm-up: compile pipelines, allocate pools
  let reps = minReps;
  for (;;) {
    const t0 = performance.now();
    await run(reps);
    const ms = performance.now() - t0;
    if (ms >= minMs || reps >= 1 << 16) return { msPerRep: ms / reps, reps };
    reps = Math.max(reps * 2, Math.ceil((reps * minMs) / Math.max(ms, 1)));
  }
}

/** out[M,N] = op(a)·op(b): a is [M,K], or [K,M] when transA; b is [K,N], or [N,K] when transB. */
export interface MatmulShape {
  name: string;
  M: number;
  K: number;
  N: number;
  transA?: boolean;
  transB?: boolean;
}

/**
 * Matmul shapes of the tiny preset (d = 128, vocab 256) at 8 sequences × 64 tokens, as the
 * model and matmulBackward call them: forward x·W, weight gradients dW = xᵀ·dY (K is the
 * 512 token rows, the output only 128 wide: few output tiles), an input gradient dX = dY·Wᵀ,
 * one weight gradient at 32 × 64 tokens, and a square.
 */
export const MODEL_MATMULS: MatmulShape[] = [
  { name: 'attn qkv', M: 512, K: 128, N: 384 },
  { name: 'attn proj', M: 512, K: 128, N: 128 },
  { name: 'mlp fc', M: 512, K: 128, N: 512 },
  { name: 'mlp proj', M: 512, K: 512, N: 128 },
  { name: 'lm head', M: 512, K: 128, N: 256, transB: true },
  { name: 'attn qkv dW', M: 128, K: 512, N: 384, transA: true },
  { name: 'attn proj dW', M: 128, K: 512, N: 128, transA: true },
  { name: 'mlp fc dW', M: 128, K: 512, N: 512, transA: true },
  { name: 'mlp proj dW', M: 512, K: 512, N: 128, transA: true },
  { name: 'lm head dW', M: 256, K: 512, N: 128, transA: true },
  { name: 'attn proj dW 32×64', M: 128, K: 2048, N: 128, transA: true },
  { name: 'mlp fc dX', M: 512, K: 512, N: 128, transB: true },
  { name: 'square 512', M: 512, K: 512, N: 512 },
];

export const matmulFlops = (s: MatmulShape) => 2 * s.M * s.N * s.K;

/** The shapes of a and b as uploaded for `s`. */
export function operandShapes(s: MatmulShape): { a: [number, number]; b: [number, number] } {
  return { a: s.transA ? [s.K, s.M] : [s.M, s.K], b: s.transB ? [s.N, s.K] : [s.K, s.N] };
}

/** e.g. `mlp fc dW 128×512·512×512 (aᵀ)`. */
export function describeShape(s: MatmulShape): string {
  const t = [s.transA && 'aᵀ', s.transB && 'bᵀ'].filter(Boolean).join(' ');
  return `${s.name} ${s.M}×${s.K}·${s.K}×${s.N}${t ? ` (${t})` : ''}`;
}
