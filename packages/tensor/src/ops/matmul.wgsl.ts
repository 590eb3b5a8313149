import type { MatmulDims } from '../check.ts';
import { defineKernel, ELEMENTWISE_MAIN, ro, rw, type Kernel } from '../webgpu/kernel.ts';

/**
 * Output tile of one workgroup. The WGSL below is written for exactly these: 16×16 threads,
 * each computing a 4×4 block of outputs, over a K-slice of MATMUL_TILE_K staged in workgroup
 * memory (2 × 4 KiB). A K-slice of 32 (half the barriers) was no faster on SwiftShader.
 */
export const MATMUL_TILE_M = 64;
export const MATMUL_TILE_N = 64;
export const MATMUL_TILE_K = 16;

/**
 * Split-K. An output of few 64×64 tiles leaves most of a GPU idle (a 128×128 weight gradient is
 * 4 workgroups), so its K is cut into slices computed by separate workgroups and summed by a
 * second pass, aiming for this many workgroups: about what keeps a mid-range GPU's cores busy.
 */
export const SPLIT_K_GPU_WORKGROUPS = 64;
/**
 * The same aim on a fallback (CPU) adapter such as SwiftShader: there workgroups are fibers on
 * the CPU's few threads, which a handful of tiles already fill, and each costs its own set-up:
 * measured on 2 cores, 4 slices of K = 128 ran at half the speed of the unsplit matmul, 2 slices
 * about even.
 */
export const SPLIT_K_FALLBACK_WORKGROUPS = 8;
/** Shortest K-slice worth a workgroup: below it the partial sums' writes and reads rival the multiply. */
export const SPLIT_K_MIN_SLICE = 128;

export interface MatmulVariant {
  transA: boolean;
  transB: boolean;
  bias: boolean;
}

/** Which operands are read as vec4. */
export interface MatmulLoads {
  vecA: boolean;
  vecB: boolean;
}

/** An operand is read as vec4 when its contiguous dimension (so its batch stride too) is a multiple of 4. */
function matmulLoads(M: number, K: number, N: number, v: Pick<MatmulVariant, 'transA' | 'transB'>): MatmulLoads {
  return { vecA: (v.transA ? M : K) % 4 === 0, vecB: (v.transB ? K : N) % 4 === 0 };
}

/** How one matmul is dispatched: one pass, or a pass per K-slice into partial sums and a reduction. */
export interface MatmulPlan {
  kernel: Kernel;
  params: number[];
  grid: [number, number, number];
  /** K-slices; 1 when the matmul kernel writes the output (and adds the bias) itself. */
  slices: number;
  loads: MatmulLoads;
  /** Sums the slices' partial outputs into the output and adds the bias; null when slices is 1. */
  reduce: { kernel: Kernel; params: number[] } | null;
}

const THREADS = 256;
/** vec4s per staged row of 64. */
const ROW_VEC4S = MATMUL_TILE_M / 4;

/**
 * WGSL that stages a 64×TILE_K tile of op(x) into `tile` ([k][m/4] as vec4). `kMajor`: x is stored
 * with the tile's m (or n) contiguous, e.g. a transposed a or a plain b; otherwise k is
 * contiguous. Consecutive threads read consecutive addresses in both layouts. Reads outside
 * [0, extent) × [k0, kEnd) give 0.
 */
function stageTile(tile: string, x: string, base: string, start: string, extent: string, kMajor: boolean, vec4: boolean): string {
  const TK = MATMUL_TILE_K;
  if (vec4 && kMajor) {
    return `for (var r = 0u; r < ${(TK * ROW_VEC4S) / THREADS}u; r++) {
      let e = li + r * ${THREADS}u; let k = e / ${ROW_VEC4S}u; let q = e % ${ROW_VEC4S}u;
      var v = vec4f(0.0);
      if (${start} + 4u * q < ${extent} && k0 + k < kEnd) { v = ${x}[(${base} + (k0 + k) * ${extent} + ${start}) / 4u + q]; }
      ${tile}[k * ${ROW_VEC4S}u + q] = v;
    }`;
  }
  if (vec4) {
    return `for (var r = 0u; r < ${(TK * ROW_VEC4S) / THREADS}u; r++) {
      let e = li + r * ${THREADS}u; let m = e / ${TK / 4}u; let k = 4u * (e % ${TK / 4}u);
      var v = vec4f(0.0);
      if (${start} + m < ${extent} && k0 + k < kEnd) { v = ${x}[(${base} + (${start} + m) * p.K + k0 + k) / 4u]; }
      for (var c = 0u; c < 4u; c++) { ${tile}[(k + c) * ${ROW_VEC4S}u + m / 4u][m % 4u] = v[c]; }
    }`;
  }
  const index = kMajor ? `${base} + (k0 + k) * ${extent} + ${start} + m` : `${base} + (${start} + m) * p.K + k0 + k`;
  const split = kMajor ? 'let k = e / 64u; let m = e % 64u;' : `let m = e / ${TK}u; let k = e % ${TK}u;`;
  return `for (var r = 0u; r < ${(TK * 64) / THREADS}u; r++) {
      let e = li + r * ${THREADS}u; ${split}
      var v = 0.0;
      if (${start} + m < ${extent} && k0 + k < kEnd) { v = ${x}[${index}]; }
      ${tile}[k * ${ROW_VEC4S}u + m / 4u][m % 4u] = v;
    }`;
}

// a is (batch, M, K) or (batch, K, M) if transA; b is (batch, K, N) or (batch, N, K) if transB
// (strideB = 0 when b is shared); out is (slices, batch, M, N), slices = ⌈K / kSlice⌉.
// Workgroup (x, y, s·batch + z) sums k in [s·kSlice, (s+1)·kSlice) for the 64×64 tile at
// rows 64y, cols 64x of product z. Thread (tx, ty) owns rows 4ty…4ty+3, cols 4tx…4tx+3 of the
// tile: per k it reads one vec4 of each staged tile and does 16 multiply-adds.
function matmulSource(v: MatmulVariant, l: MatmulLoads): string {
  const stageA = stageTile('As', 'a', 'aBase', 'row0', 'p.M', v.transA, l.vecA);
  const stageB = stageTile('Bs', 'b', 'bBase', 'col0', 'p.N', !v.transB, l.vecB);
  return /* wgsl */ `
var<workgroup> As: array<vec4f, ${MATMUL_TILE_K * ROW_VEC4S}>; // [k][m / 4]
var<workgroup> Bs: array<vec4f, ${MATMUL_TILE_K * ROW_VEC4S}>; // [k][n / 4]

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let row0 = wg.y * 64u;
  let col0 = wg.x * 64u;
  let z = wg.z % p.batch;
  let kBegin = (wg.z / p.batch) * p.kSlice;
  let kEnd = min(p.K, kBegin + p.kSlice);
  let aBase = z * p.strideA;
  let bBase = z * p.strideB;
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var k0 = kBegin; k0 < kEnd; k0 += ${MATMUL_TILE_K}u) {
    ${stageA}
    ${stageB}
    workgroupBarrier();
    for (var k = 0u; k < ${MATMUL_TILE_K}u; k++) {
      let ar = As[k * ${ROW_VEC4S}u + lid.y];
      let bc = Bs[k * ${ROW_VEC4S}u + lid.x];
      acc0 = fma(vec4f(ar.x), bc, acc0);
      acc1 = fma(vec4f(ar.y), bc, acc1);
      acc2 = fma(vec4f(ar.z), bc, acc2);
      acc3 = fma(vec4f(ar.w), bc, acc3);
    }
    workgroupBarrier();
  }
  let accs = array<vec4f, 4>(acc0, acc1, acc2, acc3);
  let outBase = wg.z * p.M * p.N;
  for (var i = 0u; i < 4u; i++) {
    let m = row0 + 4u * lid.y + i;
    if (m >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let n = col0 + 4u * lid.x + j;
      if (n >= p.N) { break; }
      out[outBase + m * p.N + n] = accs[i][j]${v.bias ? ' + bias[n]' : ''};
    }
  }
}`;
}

/**
 * defineKernel declares every buffer as array<f32>; an operand read as vec4 is the same
 * buffer seen as array<vec4f> (its length is a multiple of 4 whenever its rows are).
 */
function asVec4(k: Kernel, binding: string): Kernel {
  const scalar = `var<storage, read> ${binding}: array<f32>;`;
  if (!k.source.includes(scalar)) throw new Error(`kernel '${k.name}' declares no '${scalar}'`);
  return { ...k, source: k.source.replace(scalar, `var<storage, read> ${binding}: array<vec4f>;`) };
}

const cache = new Map<string, Kernel>();

function matmulKernel(v: MatmulVariant, l: MatmulLoads): Kernel {
  const key = `${+v.transA}${+v.transB}${+v.bias}${+l.vecA}${+l.vecB}`;
  let k = cache.get(key);
  if (!k) {
    const bindings = [rw('out'), ro('a'), ro('b'), ...(v.bias ? [ro('bias')] : [])];
    const params = [
      ['M', 'u32'],
      ['N', 'u32'],
      ['K', 'u32'],
      ['strideA', 'u32'],
      ['strideB', 'u32'],
      ['batch', 'u32'],
      ['kSlice', 'u32'],
    ] as const;
    const name = `matmul${v.transA ? 'ᵀ' : ''}${v.transB ? '·ᵀ' : ''}${l.vecA || l.vecB ? ' vec4' : ''}`;
    k = defineKernel(name, params, bindings, matmulSource(v, l));
    if (l.vecA) k = asVec4(k, 'a');
    if (l.vecB) k = asVec4(k, 'b');
    cache.set(key, k);
  }
  return k;
}

// partial is (slices, n) with n = batch·M·N; out is (n): the slices summed in ascending order,
// plus bias[i mod N].
function reduceSource(bias: boolean): string {
  return /* wgsl */ `${ELEMENTWISE_MAIN}
  var total = 0.0;
  for (var s = 0u; s < p.slices; s++) { total += partial[s * p.n + i]; }
  out[i] = total${bias ? ' + bias[i % p.N]' : ''};
}`;
}

const splitKReduceKernels = [false, true].map((bias) =>
  defineKernel(
    `matmul split-K sum${bias ? ' +bias' : ''}`,
    [
      ['n', 'u32'],
      ['N', 'u32'],
      ['slices', 'u32'],
    ],
    [rw('out'), ro('partial'), ...(bias ? [ro('bias')] : [])],
    reduceSource(bias),
  ),
);

/** What the plan may depend on besides the shapes. */
export interface MatmulPlanOptions {
  /** The adapter is a CPU rasterizer (GPUAdapterInfo.isFallbackAdapter). */
  fallbackAdapter: boolean;
}

/**
 * K-slices of `sliceLength` each (the last may be shorter) for an output of `tiles` workgroup
 * tiles: 1 unless the output is small and K long.
 */
export function splitK(tiles: number, K: number, o: MatmulPlanOptions): { slices: number; sliceLength: number } {
  const target = o.fallbackAdapter ? SPLIT_K_FALLBACK_WORKGROUPS : SPLIT_K_GPU_WORKGROUPS;
  const wanted = Math.min(Math.ceil(target / tiles), Math.floor(K / SPLIT_K_MIN_SLICE));
  if (wanted <= 1) return { slices: 1, sliceLength: K };
  const sliceLength = Math.ceil(K / wanted / MATMUL_TILE_K) * MATMUL_TILE_K;
  return { slices: Math.ceil(K / sliceLength), sliceLength };
}

/**
 * The dispatches of out = op(a)·op(b) (+ bias): one pass over 64×64 output tiles, or, for an
 * output of few tiles and a long K (weight gradients: K is batch·tokens), a pass per K-slice
 * into a (slices, batch, M, N) buffer of partial sums and an elementwise pass that adds them.
 * Operands whose contiguous dimension is a multiple of 4 are read as vec4.
 */
export function planMatmul(d: MatmulDims, v: MatmulVariant, o: MatmulPlanOptions): MatmulPlan {
  const { batch, M, N, K } = d;
  const tilesM = Math.ceil(M / MATMUL_TILE_M);
  const tilesN = Math.ceil(N / MATMUL_TILE_N);
  const { slices, sliceLength } = splitK(tilesM * tilesN * batch, K, o);
  const loads = matmulLoads(M, K, N, v);
  const kernel = matmulKernel({ ...v, bias: v.bias && slices === 1 }, loads);
  const params = [M, N, K, M * K, d.sharedB ? 0 : K * N, batch, Math.max(sliceLength, 1)];
  const grid: [number, number, number] = [tilesN, tilesM, batch * slices];
  if (slices === 1) return { kernel, params, grid, slices, loads, reduce: null };
  const n = batch * M * N;
  return { kernel, params, grid, slices, loads, reduce: { kernel: splitKReduceKernels[+v.bias], params: [n, N, slices] } };
}
