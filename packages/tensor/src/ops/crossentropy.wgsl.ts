import { ELEMENTWISE_MAIN, WORKGROUP_REDUCE, defineKernel, ro, rw } from '../webgpu/kernel.ts';

// logits, probs (N, V); targets, losses (N). One workgroup per row. A label outside [0, V)
// gives a NaN loss, so a bad batch can never look like a good one.
export const crossEntropyKernel = defineKernel(
  'crossEntropy',
  [
    ['N', 'u32'],
    ['V', 'u32'],
  ],
  [rw('losses'), rw('probs'), ro('logits'), ro('targets', 'i32')],
  `${WORKGROUP_REDUCE}
@compute @workgroup_size(ROW_THREADS)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let r = linear_workgroup(wg, nwg);
  if (r >= p.N) { return; }
  let row = r * p.V;
  var m = -3.4e38;
  for (var v = li; v < p.V; v += ROW_THREADS) { m = max(m, logits[row + v]); }
  let rowMax = workgroup_max(li, m);
  var s = 0.0;
  for (var v = li; v < p.V; v += ROW_THREADS) { s += exp(logits[row + v] - rowMax); }
  let sum = workgroup_sum(li, s);
  for (var v = li; v < p.V; v += ROW_THREADS) { probs[row + v] = exp(logits[row + v] - rowMax) / sum; }
  if (li == 0u) {
    let label = targets[r];
    if (label < 0 || u32(label) >= p.V) {
      losses[r] = nan_f32();
    } else {
      losses[r] = log(sum) + rowMax - logits[row + u32(label)];
    }
  }
}`,
);

export const crossEntropyBackwardKernel = defineKernel(
  'crossEntropyBackward',
  [
    ['n', 'u32'],
    ['V', 'u32'],
    ['dLoss', 'f32'],
  ],
  [rw('dLogits'), ro('probs'), ro('targets', 'i32')],
  `${ELEMENTWISE_MAIN}
  let label = targets[i / p.V];
  let hit = select(0.0, 1.0, label == i32(i % p.V));
  dLogits[i] = (probs[i] - hit) * p.dLoss;
}`,
);
