/**
 * npm run bench:compression [-- --rounds 60] [--seeds 1,2,3] [--ranks 16,32,64] [--batch 4]
 *   [--eval-every 10] [--eval-batches 4] [--target LOSS] [--jobs 2] [--out bench-results/compression.json]
 *
 * Low-rank boundary compression (docs/boundary-compression.md) against the dense model in the
 * same run: the tiny preset cut into 4 shards (3 boundaries) on the CPU backend, the Brown
 * corpus, dense and every rank k trained for the same rounds from each seed (the seed fixes the
 * initial weights and the micro-batch order, so every variant of a seed sees the same data).
 * Measures the validation loss at equal tokens (the same validation windows for every run),
 * and the tokens and boundary bytes each variant needs to reach a target loss: by default the
 * worst dense seed's validation loss at half the rounds. Prints a table and writes JSON.
 */
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { partition, preset, type GptConfig } from '@openshard/model';
import { numberFlag, parseFlags, UsageError } from '../src/cli/options.ts';
import type { CompressionJob, CompressionRun, ValidationPoint } from './compression-run.ts';

const USAGE = 'see the comment at the top of packages/trainer/bench/compression.ts';
const f = parseFlags(
  process.argv.slice(2),
  {
    rounds: { type: 'string' },
    seeds: { type: 'string' },
    ranks: { type: 'string' },
    batch: { type: 'string' },
    'eval-every': { type: 'string' },
    'eval-batches': { type: 'string' },
    target: { type: 'string' },
    jobs: { type: 'string' },
    out: { type: 'string' },
  },
  USAGE,
);

const SHARDS = 4;
const BYTES_PER_F32 = 4;
/** Token ids travel as i32, the wire protocol's codec for them. */
const BYTES_PER_TOKEN_ID = 4;
const config = preset('tiny');
const rounds = numberFlag('rounds', f.rounds, 60, 2);
const batch = numberFlag('batch', f.batch, 4, 1);
const evalEvery = numberFlag('eval-every', f['eval-every'], 10, 1, rounds);
const evalBatches = numberFlag('eval-batches', f['eval-batches'], 4, 1);
const jobs = numberFlag('jobs', f.jobs, Math.max(1, Math.min(2, os.cpus().length)), 1);
const out = f.out ?? 'bench-results/compression.json';
const seeds = integerList('seeds', f.seeds ?? '1,2,3', 0);
const ranks = integerList('ranks', f.ranks ?? '16,32,64', 1);
for (const k of ranks) if (k > config.width) throw new UsageError(`--ranks: ${k} is above the width ${config.width}`);
const boundaries = partition(config, SHARDS).length - 1;
const tokensPerRound = batch * config.contextLength;

function integerList(name: string, raw: string, min: number): number[] {
  return raw.split(',').map((s) => numberFlag(name, s.trim(), 0, min));
}

// --- what crosses the network, per trained token ---

/** Every boundary, forward (x, or z and the token id) and backward (dx, or dz and the token id). */
function boundaryBytesPerToken(rank: number | null): number {
  const oneWay = rank === null ? config.width * BYTES_PER_F32 : rank * BYTES_PER_F32 + BYTES_PER_TOKEN_ID;
  return boundaries * 2 * oneWay;
}

/**
 * What a distributed low-rank run adds: every stage after the first rebuilds x from E and P,
 * so per round it is sent their new values and sends back the gradient of its rebuilds, both
 * (vocabSize + contextLength)·C floats, here spread over the round's tokens.
 */
function embeddingSyncBytesPerToken(rank: number | null, c: GptConfig): number {
  if (rank === null) return 0;
  return (boundaries * 2 * (c.vocabSize + c.contextLength) * c.width * BYTES_PER_F32) / tokensPerRound;
}

// --- the runs ---

async function runInChild(job: CompressionJob): Promise<CompressionRun> {
  const child = fork(fileURLToPath(new URL('./compression-run.ts', import.meta.url)));
  return new Promise((resolve, reject) => {
    let result: CompressionRun | undefined;
    child.once('message', (m) => (result = m as CompressionRun));
    child.once('error', reject);
    child.once('exit', (code) => (result ? resolve(result) : reject(new Error(`the run of ${variantName(job.rank)} seed ${job.seed} exited with code ${code}`))));
    child.send(job);
  });
}

const variantName = (rank: number | null) => (rank === null ? 'dense' : `k=${rank}`);
const variants: (number | null)[] = [null, ...ranks];
const queue: CompressionJob[] = seeds.flatMap((seed) => variants.map((rank) => ({ rank, seed, shards: SHARDS, rounds, batch, evalEvery, evalBatches })));
const total = queue.length;
const runs: CompressionRun[] = [];
const started = performance.now();
console.log(
  `tiny preset (${config.layers} layers, width ${config.width}) in ${SHARDS} shards (${boundaries} boundaries), ${rounds} rounds of ${batch} × ${config.contextLength} tokens; ` +
    `${variants.map(variantName).join(', ')} × seeds ${seeds.join(', ')}: ${total} runs, ${jobs} at a time`,
);
await Promise.all(
  Array.from({ length: Math.min(jobs, total) }, async () => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      const run = await runInChild(job);
      runs.push(run);
      const last = run.validation[run.validation.length - 1];
      console.log(
        `  [${runs.length}/${total}] ${variantName(job.rank).padEnd(5)} seed ${job.seed}: validation loss ${last.loss.toFixed(4)} after ${last.tokens} tokens, ${run.msPerRound.toFixed(0)} ms/round`,
      );
    }
  }),
);
const wallMinutes = (performance.now() - started) / 60_000;

// --- the analysis ---

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Sample standard deviation; 0 for one seed. */
const spread = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const runsOf = (rank: number | null) => seeds.map((seed) => runs.find((r) => r.job.rank === rank && r.job.seed === seed)!);
const lossAt = (run: CompressionRun, round: number) => run.validation.find((p) => p.round === round)!.loss;

/** Tokens at which the validation curve first reaches `target`, interpolated linearly between evaluations; null if it never does. */
function tokensToReach(curve: ValidationPoint[], target: number): number | null {
  if (curve[0].loss <= target) return 0;
  for (let i = 1; i < curve.length; i++) {
    const [a, b] = [curve[i - 1], curve[i]];
    if (b.loss <= target) return a.tokens + ((a.loss - target) / (a.loss - b.loss)) * (b.tokens - a.tokens);
  }
  return null;
}

const evalRounds = runs[0].validation.map((p) => p.round);
const halfRound = evalRounds.reduce((best, r) => (Math.abs(r - rounds / 2) < Math.abs(best - rounds / 2) ? r : best));
const reportRounds = [...new Set([evalRounds[Math.round((evalRounds.length - 1) / 4)], halfRound, rounds])];
const target = f.target === undefined ? Math.max(...runsOf(null).map((r) => lossAt(r, halfRound))) : numberFlag('target', f.target, 0, 0, Infinity, false);
const targetSource = f.target === undefined ? `the worst dense seed's validation loss at round ${halfRound}` : '--target';

interface Summary {
  variant: string;
  rank: number | null;
  boundaryBytesPerToken: number;
  embeddingSyncBytesPerToken: number;
  validationLoss: { round: number; tokens: number; mean: number; spread: number }[];
  reached: number;
  tokensToTarget: { perSeed: (number | null)[]; mean: number | null; spread: number | null };
  boundaryBytesToTarget: number | null;
  totalBytesToTarget: number | null;
  msPerRound: number;
}

const summaries: Summary[] = variants.map((rank) => {
  const rs = runsOf(rank);
  const perSeed = rs.map((r) => tokensToReach(r.validation, target));
  const reached = perSeed.filter((t): t is number => t !== null);
  const allReached = reached.length === rs.length;
  const tokens = allReached ? mean(reached) : null;
  return {
    variant: variantName(rank),
    rank,
    boundaryBytesPerToken: boundaryBytesPerToken(rank),
    embeddingSyncBytesPerToken: embeddingSyncBytesPerToken(rank, config),
    validationLoss: evalRounds.map((round) => {
      const losses = rs.map((r) => lossAt(r, round));
      return { round, tokens: round * tokensPerRound, mean: mean(losses), spread: spread(losses) };
    }),
    reached: reached.length,
    tokensToTarget: { perSeed, mean: tokens, spread: allReached ? spread(reached) : null },
    boundaryBytesToTarget: tokens === null ? null : tokens * boundaryBytesPerToken(rank),
    totalBytesToTarget: tokens === null ? null : tokens * (boundaryBytesPerToken(rank) + embeddingSyncBytesPerToken(rank, config)),
    msPerRound: mean(rs.map((r) => r.msPerRound)),
  };
});

// --- the table ---

const dense = summaries[0];
const mb = (bytes: number | null) => (bytes === null ? 'not reached' : (bytes / 1e6).toFixed(1));
const ratio = (a: number | null, b: number | null) => (a === null || b === null ? '–' : `${(a / b).toFixed(2)}×`);
const lossCell = (s: Summary, round: number) => {
  const p = s.validationLoss.find((v) => v.round === round)!;
  return `${p.mean.toFixed(3)} ± ${p.spread.toFixed(3)}`;
};
const trained = rounds * tokensPerRound;
const tokensCell = (s: Summary) => (s.tokensToTarget.mean === null ? `> ${trained} (${s.reached}/${seeds.length})` : `${s.tokensToTarget.mean.toFixed(0)} ± ${s.tokensToTarget.spread!.toFixed(0)}`);

console.log(`\nvalidation loss (nats/byte, mean ± sd over ${seeds.length} seeds) at equal tokens:`);
console.log(`variant  B/token  vs dense  ${reportRounds.map((r) => `${`round ${r} (${r * tokensPerRound} tok)`.padStart(24)}`).join('')}  ms/round`);
for (const s of summaries) {
  console.log(
    `${s.variant.padEnd(7)} ${String(s.boundaryBytesPerToken).padStart(8)} ${ratio(s.boundaryBytesPerToken, dense.boundaryBytesPerToken).padStart(9)}  ${reportRounds.map((r) => lossCell(s, r).padStart(24)).join('')}  ${s.msPerRound.toFixed(0).padStart(8)}`,
  );
}
console.log(`\ntarget loss ${target.toFixed(4)} (${targetSource}):`);
console.log('variant  tokens to target       × dense  boundary MB  × dense  + E/P sync MB  × dense');
for (const s of summaries) {
  console.log(
    `${s.variant.padEnd(7)}  ${tokensCell(s).padEnd(21)} ${ratio(s.tokensToTarget.mean, dense.tokensToTarget.mean).padStart(7)}  ${mb(s.boundaryBytesToTarget).padStart(11)} ${ratio(s.boundaryBytesToTarget, dense.boundaryBytesToTarget).padStart(8)}  ${mb(s.totalBytesToTarget).padStart(13)} ${ratio(s.totalBytesToTarget, dense.totalBytesToTarget).padStart(8)}`,
  );
}
console.log(
  `\nB/token: boundary bytes per trained token, all ${boundaries} boundaries, forward and backward (fp32 activations; z, dz and i32 token ids).` +
    `\n+ E/P sync: also what a distributed low-rank run sends so later stages can rebuild x: E and P down and their gradient up, per round, ${tokensPerRound} tokens per round here.` +
    `\n${total} runs in ${wallMinutes.toFixed(1)} min on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}).`,
);

mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
      preset: 'tiny',
      config,
      shards: SHARDS,
      boundaries,
      rounds,
      batch,
      tokensPerRound,
      evalEvery,
      evalBatches,
      seeds,
      ranks,
      target: { loss: target, source: targetSource },
      wallMinutes,
      summaries,
      runs,
    },
    null,
    2,
  )}\n`,
);
console.log(`wrote ${out}`);
