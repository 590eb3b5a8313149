import { ELEMENTWISE_MAIN, defineKernel, ro, rw } from '../webgpu/kernel.ts';

// ids is (N), table is (V, C), out is (N, C); p.n = N·C. An id outside [0, V) yields a NaN row.
export const embeddingKernel = defineKernel(
  'embedding',
  [
    ['n', 'u32'],
    ['C', 'u32'],
    ['V', 'u32'],
  ],
  [rw('out'), ro('ids', 'i32'), ro('table')],
  `${ELEMENTWISE_MAIN}
  let row = i / p.C;
  let id = ids[row];
  if (id < 0 || u32(id) >= p.V) { out[i] = nan_f32(); return; }
  out[i] = table[u32(id) * p.C + i % p.C];
}`,
);

// One workgroup per position n. Only the first occurrence of each id writes: it sums dOut over
// every position with that id in ascending order, so the result is deterministic without atomics.
// dTable (V, C) must be zeroed beforehand; rows of ids that never occur stay zero.
export const embeddingBackwardKernel = defineKernel(
  'embeddingBackward',
  [
    ['N', 'u32'],
    ['C', 'u32'],
    ['V', 'u32'],
  ],
  [rw('dTable'), ro('ids', 'i32'), ro('dOut')],
  /* wgsl */ `
var<workgroup> seen: atomic<u32>;
var<workgroup> duplicate: u32;
var<workgroup> chunk: array<i32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let n = linear_workgroup(wg, nwg);
  if (n >= p.N) { return; }
  let id = ids[n];
  if (id < 0 || u32(id) >= p.V) { return; }
  if (li == 0u) { atomicStore(&seen, 0u); }
  workgroupBarrier();
  for (var m = li; m < n; m += 256u) {
    if (ids[m] == id) { atomicStore(&seen, 1u); }
  }
  workgroupBarrier();
  if (li == 0u) { duplicate = atomicLoad(&seen); }
  if (workgroupUniformLoad(&duplicate) != 0u) { return; }
  for (var c0 = 0u; c0 < p.C; c0 += 256u) {
    let c = c0 + li;
    var acc = 0.0;
    for (var m0 = n; m0 < p.N; m0 += 256u) {
      workgroupBarrier();
      if (m0 + li < p.N) { chunk[li] = ids[m0 + li]; }
      workgroupBarrier();
      let count = min(256u, p.N - m0);
      for (var j = 0u; j < count; j++) {
        if (chunk[j] == id && c < p.C) { acc += dOut[(m0 + j) * p.C + c]; }
      }
    }
    if (c < p.C) { dTable[u32(id) * p.C + c] = acc; }
  }
}`,
);
