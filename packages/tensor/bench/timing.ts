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

export interface MatmulShape {
  name: string;
  M: number;
  K: number;
  N: number;
}

/** Matmul shapes of the tiny preset at 8 sequences × 64 tokens (d=128, vocab 256), and a square. */
export const MODEL_MATMULS: MatmulShape[] = [
  { name: 'attn qkv (tiny)', M: 512, K: 128, N: 384 },
  { name: 'mlp fc (tiny)', M: 512, K: 128, N: 512 },
  { name: 'mlp proj (tiny)', M: 512, K: 512, N: 128 },
  { name: 'lm head (tiny)', M: 512, K: 128, N: 256 },
  { name: 'square 512', M: 512, K: 512, N: 512 },
];

export const matmulFlops = (s: MatmulShape) => 2 * s.M * s.N * s.K;
