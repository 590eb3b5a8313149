import { ELEMENTWISE_MAIN, WORKGROUP_REDUCE, defineKernel, ro, rw } from '../webgpu/kernel.ts';

const rowMain = /* wgsl */ `
@compute @workgroup_size(ROW_THREADS)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let r = linear_workgroup(wg, nwg);
  if (r >= p.N) { return; }
  let row = r * p.C;`;

// x is (N, C): one workgroup per row; two-pass mean and variance as in the CPU reference.
export const layernormKernel = defineKernel(
  'layernorm',
  [
    ['N', 'u32'],
    ['C', 'u32'],
    ['eps', 'f32'],
  ],
  [rw('out'), rw('mean'), rw('rstd'), ro('x'), ro('weight'), ro('bias')],
  `${WORKGROUP_REDUCE}
${rowMain}
  var s = 0.0;
  for (var c = li; c < p.C; c += ROW_THREADS) { s += x[row + c]; }
  let m = workgroup_sum(li, s) / f32(p.C);
  var q = 0.0;
  for (var c = li; c < p.C; c += ROW_THREADS) { let d = x[row + c] - m; q += d * d; }
  let inv = 1.0 / sqrt(workgroup_sum(li, q) / f32(p.C) + p.eps);
  for (var c = li; c < p.C; c += ROW_THREADS) { out[row + c] = (x[row + c] - m) * inv * weight[c] + bias[c]; }
  if (li == 0u) { mean[r] = m; rstd[r] = inv; }
}`,
);

// dx for one row per workgroup: (dnorm − mean(dnorm) − norm·mean(dnorm·norm))·rstd.
export const layernormBackwardKernel = defineKernel(
  'layernormBackward',
  [
    ['N', 'u32'],
    ['C', 'u32'],
  ],
  [rw('dx'), ro('dOut'), ro('x'), ro('weight'), ro('mean'), ro('rstd')],
  `${WORKGROUP_REDUCE}
${rowMain}
  let m = mean[r];
  let s = rstd[r];
  var a = 0.0;
  var b = 0.0;
  for (var c = li; c < p.C; c += ROW_THREADS) {
    let dnorm = dOut[row + c] * weight[c];
    a += dnorm;
    b += dnorm * (x[row + c] - m) * s;
  }
  let dnormMean = workgroup_sum(li, a) / f32(p.C);
  let dnormNormMean = workgroup_sum(li, b) / f32(p.C);
  for (var c = li; c < p.C; c += ROW_THREADS) {
    let norm = (x[row + c] - m) * s;
    dx[row + c] = (dOut[row + c] * weight[c] - dnormMean - norm * dnormNormMean) * s;
  }
}`,
);

// dWeight and dBias: one thread per column, rows in ascending order.
export const layernormParamsBackwardKernel = defineKernel(
  'layernormBackward',
  [
    ['n', 'u32'],
    ['N', 'u32'],
  ],
  [rw('dWeight'), rw('dBias'), ro('dOut'), ro('x'), ro('mean'), ro('rstd')],
  `${ELEMENTWISE_MAIN}
  var dw = 0.0;
  var db = 0.0;
  for (var r = 0u; r < p.N; r++) {
    let g = dOut[r * p.n + i];
    dw += g * (x[r * p.n + i] - mean[r]) * rstd[r];
    db += g;
  }
  dWeight[i] = dw;
  dBias[i] = db;
}`,
);
