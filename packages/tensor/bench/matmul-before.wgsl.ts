/**
 * The WebGPU matmul as it was before issue 17 (commit 26620f9), frozen here so that
 * `npm run bench:kernels` measures it beside the current one in the same run. Bench only:
 * the backend never dispatches it. One pass, 64×64 output tiles, 16×16 threads with 4×4
 * strided outputs each, a K-slice of 16 staged with scalar loads.
 */
import { matmulDims } from '../src/check.ts';
import { defineKernel, ro, rw, type Kernel } from '../src/webgpu/kernel.ts';
import type { Tensor } from '../src/tensor.ts';
import type { WebGpuBackend } from '../src/webgpu/backend.ts';

interface MatmulVariant {
  transA: boolean;
  transB: boolean;
  bias: boolean;
}

// Each of the 16×16 threads computes a 4×4 block of outputs at rows ty + 16i, cols tx + 16j,
// so reads of the staged tiles are conflict-free and stores are coalesced.
// a is (batch, M, K) or (batch, K, M) if transA; b is (batch, K, N) or (batch, N, K) if transB
// (strideB = 0 when b is shared); out is (batch, M, N).
function matmulSource(v: MatmulVariant): string {
  // Staging order follows memory order, so consecutive threads read consecutive addresses.
  const loadA = v.transA
    ? 'let k = e / 64u; let m = e % 64u; if (row0 + m < p.M && k0 + k < p.K) { val = a[aBase + (k0 + k) * p.M + row0 + m]; }'
    : 'let m = e / 16u; let k = e % 16u; if (row0 + m < p.M && k0 + k < p.K) { val = a[aBase + (row0 + m) * p.K + k0 + k]; }';
  const loadB = v.transB
    ? 'let n = e / 16u; let k = e % 16u; if (col0 + n < p.N && k0 + k < p.K) { val = b[bBase + (col0 + n) * p.K + k0 + k]; }'
    : 'let k = e / 64u; let n = e % 64u; if (col0 + n < p.N && k0 + k < p.K) { val = b[bBase + (k0 + k) * p.N + col0 + n]; }';
  return /* wgsl */ `
var<workgroup> As: array<f32, 1024>; // [16 k][64 m]
var<workgroup> Bs: array<f32, 1024>; // [16 k][64 n]

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let row0 = wg.y * 64u;
  let col0 = wg.x * 64u;
  let aBase = wg.z * p.strideA;
  let bBase = wg.z * p.strideB;
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var k0 = 0u; k0 < p.K; k0 += 16u) {
    for (var r = 0u; r < 4u; r++) {
      let e = li + r * 256u;
      var val = 0.0;
      { ${loadA} As[k * 64u + m] = val; }
    }
    for (var r = 0u; r < 4u; r++) {
      let e = li + r * 256u;
      var val = 0.0;
      { ${loadB} Bs[k * 64u + n] = val; }
    }
    workgroupBarrier();
    for (var k = 0u; k < 16u; k++) {
      let ar = vec4f(As[k * 64u + lid.y], As[k * 64u + lid.y + 16u], As[k * 64u + lid.y + 32u], As[k * 64u + lid.y + 48u]);
      let bc = vec4f(Bs[k * 64u + lid.x], Bs[k * 64u + lid.x + 16u], Bs[k * 64u + lid.x + 32u], Bs[k * 64u + lid.x + 48u]);
      acc0 = fma(vec4f(ar.x), bc, acc0);
      acc1 = fma(vec4f(ar.y), bc, acc1);
      acc2 = fma(vec4f(ar.z), bc, acc2);
      acc3 = fma(vec4f(ar.w), bc, acc3);
    }
    workgroupBarrier();
  }
  let accs = array<vec4f, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let m = row0 + lid.y + 16u * i;
    if (m >= p.M) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let n = col0 + lid.x + 16u * j;
      if (n >= p.N) { continue; }
      out[wg.z * p.M * p.N + m * p.N + n] = accs[i][j]${v.bias ? ' + bias[n]' : ''};
    }
  }
}`;
}

const cache = new Map<string, Kernel>();

function matmulKernel(v: MatmulVariant): Kernel {
  const key = `${+v.transA}${+v.transB}${+v.bias}`;
  let k = cache.get(key);
  if (!k) {
    const bindings = [rw('out'), ro('a'), ro('b'), ...(v.bias ? [ro('bias')] : [])];
    const params = [
      ['M', 'u32'],
      ['N', 'u32'],
      ['K', 'u32'],
      ['strideA', 'u32'],
      ['strideB', 'u32'],
    ] as const;
    k = defineKernel(`matmul (before #17)${v.transA ? 'ᵀ' : ''}${v.transB ? '·ᵀ' : ''}`, params, bindings, matmulSource(v));
    cache.set(key, k);
  }
  return k;
}

/** op(a)·op(b) with the frozen kernel; `out` is [M,N], reused across calls. */
export function matmulBefore(be: WebGpuBackend, out: Tensor, a: Tensor, b: Tensor, options: { transA?: boolean; transB?: boolean } = {}): void {
  const d = matmulDims(a, b, options);
  const kernel = matmulKernel({ transA: !!options.transA, transB: !!options.transB, bias: false });
  const grid: [number, number, number] = [Math.ceil(d.N / 64), Math.ceil(d.M / 64), d.batch];
  be.dispatch(kernel, [out, a, b], [d.M, d.N, d.K, d.M * d.K, d.sharedB ? 0 : d.K * d.N], grid);
}
