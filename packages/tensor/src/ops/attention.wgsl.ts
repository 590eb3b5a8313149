import { ELEMENTWISE_MAIN, WORKGROUP_REDUCE, defineKernel, ro, rw } from '../webgpu/kernel.ts';

// Shapes: qkv (B, T, 3C) with q, k, v side by side; att and dPre (B, H, T, T); out, dOut (B, T, C).
// A row r = (b·H + h)·T + t of att is one query position of one head.
const attentionParams = [
  ['rows', 'u32'],
  ['T', 'u32'],
  ['C', 'u32'],
  ['H', 'u32'],
  ['hs', 'u32'],
  ['scale', 'f32'],
] as const;

const rowMain = /* wgsl */ `
@compute @workgroup_size(ROW_THREADS)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let r = linear_workgroup(wg, nwg);
  if (r >= p.rows) { return; }
  let t = r % p.T;
  let h = (r / p.T) % p.H;
  let b = r / (p.T * p.H);
  let C3 = 3u * p.C;
  let base = b * p.T * C3 + h * p.hs;
  let row = r * p.T;`;

// att[row, t2] = softmax over t2 ≤ t of (q_t · k_t2)·scale; zero above the diagonal.
export const attentionScoresKernel = defineKernel(
  'attention',
  attentionParams,
  [rw('att'), ro('qkv')],
  `${WORKGROUP_REDUCE}
${rowMain}
  let q = base + t * C3;
  var localMax = -3.4e38;
  for (var t2 = li; t2 <= t; t2 += ROW_THREADS) {
    let k = base + t2 * C3 + p.C;
    var dot = 0.0;
    for (var i = 0u; i < p.hs; i++) { dot += qkv[q + i] * qkv[k + i]; }
    dot *= p.scale;
    att[row + t2] = dot;
    localMax = max(localMax, dot);
  }
  let rowMax = workgroup_max(li, localMax);
  var localSum = 0.0;
  for (var t2 = li; t2 <= t; t2 += ROW_THREADS) {
    let e = exp(att[row + t2] - rowMax);
    att[row + t2] = e;
    localSum += e;
  }
  let inv = 1.0 / workgroup_sum(li, localSum);
  for (var t2 = li; t2 < p.T; t2 += ROW_THREADS) {
    att[row + t2] = select(0.0, att[row + t2] * inv, t2 <= t);
  }
}`,
);

// out[b, t, h·hs + d] = Σ_{t2 ≤ t} att[b, h, t, t2] · v[b, t2, h, d]; one thread per output.
export const attentionValuesKernel = defineKernel(
  'attention',
  [
    ['n', 'u32'],
    ['T', 'u32'],
    ['C', 'u32'],
    ['H', 'u32'],
    ['hs', 'u32'],
  ],
  [rw('out'), ro('qkv'), ro('att')],
  `${ELEMENTWISE_MAIN}
  let c = i % p.C;
  let t = (i / p.C) % p.T;
  let b = i / (p.C * p.T);
  let h = c / p.hs;
  let C3 = 3u * p.C;
  let row = ((b * p.H + h) * p.T + t) * p.T;
  var acc = 0.0;
  for (var t2 = 0u; t2 <= t; t2++) { acc += att[row + t2] * qkv[(b * p.T + t2) * C3 + 2u * p.C + c]; }
  out[i] = acc;
}`,
);

// dPre[row, t2] = att·(datt − Σ att·datt)·scale with datt[t2] = dOut_t · v_t2: softmax backward, with
// the score scale folded in.
export const attentionSoftmaxBackwardKernel = defineKernel(
  'attentionBackward',
  attentionParams,
  [rw('dPre'), ro('dOut'), ro('qkv'), ro('att')],
  `${WORKGROUP_REDUCE}
${rowMain}
  let o = (b * p.T + t) * p.C + h * p.hs;
  var localDot = 0.0;
  for (var t2 = li; t2 <= t; t2 += ROW_THREADS) {
    let v = base + t2 * C3 + 2u * p.C;
    var datt = 0.0;
    for (var i = 0u; i < p.hs; i++) { datt += dOut[o + i] * qkv[v + i]; }
    dPre[row + t2] = datt;
    localDot += att[row + t2] * datt;
  }
  let dot = workgroup_sum(li, localDot);
  for (var t2 = li; t2 < p.T; t2 += ROW_THREADS) {
    dPre[row + t2] = select(0.0, att[row + t2] * (dPre[row + t2] - dot) * p.scale, t2 <= t);
  }
}`,
);

// dqkv (B, T, 3C), one thread per element:
//   dq_t = Σ_{t2 ≤ t} dPre[t, t2]·k_t2,  dk_t = Σ_{t1 ≥ t} dPre[t1, t]·q_t1,  dv_t = Σ_{t1 ≥ t} att[t1, t]·dOut_t1.
export const attentionQkvBackwardKernel = defineKernel(
  'attentionBackward',
  [
    ['n', 'u32'],
    ['T', 'u32'],
    ['C', 'u32'],
    ['H', 'u32'],
    ['hs', 'u32'],
  ],
  [rw('dqkv'), ro('dOut'), ro('qkv'), ro('att'), ro('dPre')],
  `${ELEMENTWISE_MAIN}
  let C3 = 3u * p.C;
  let j = i % C3;
  let t = (i / C3) % p.T;
  let b = i / (C3 * p.T);
  let part = j / p.C;
  let c = j % p.C;
  let h = c / p.hs;
  let head = (b * p.H + h) * p.T;
  var acc = 0.0;
  if (part == 0u) {
    for (var t2 = 0u; t2 <= t; t2++) { acc += dPre[(head + t) * p.T + t2] * qkv[(b * p.T + t2) * C3 + p.C + c]; }
  } else if (part == 1u) {
    for (var t1 = t; t1 < p.T; t1++) { acc += dPre[(head + t1) * p.T + t] * qkv[(b * p.T + t1) * C3 + c]; }
  } else {
    for (var t1 = t; t1 < p.T; t1++) { acc += att[(head + t1) * p.T + t] * dOut[(b * p.T + t1) * p.C + c]; }
  }
  dqkv[i] = acc;
}`,
);
