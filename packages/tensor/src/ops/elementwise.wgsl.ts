import { ELEMENTWISE_MAIN, defineKernel, ro, rw } from '../webgpu/kernel.ts';

export const addKernel = defineKernel(
  'add',
  [['n', 'u32']],
  [rw('out'), ro('a'), ro('b')],
  `${ELEMENTWISE_MAIN}
  out[i] = a[i] + b[i];
}`,
);

export const accumulateKernel = defineKernel(
  'accumulate',
  [['n', 'u32']],
  [rw('dst'), ro('src')],
  `${ELEMENTWISE_MAIN}
  dst[i] = dst[i] + src[i];
}`,
);

// x is (R, C), out is (C): one thread per column, rows summed in ascending order.
export const columnSumKernel = defineKernel(
  'columnSum',
  [
    ['n', 'u32'],
    ['R', 'u32'],
  ],
  [rw('out'), ro('x')],
  `${ELEMENTWISE_MAIN}
  var acc = 0.0;
  for (var r = 0u; r < p.R; r++) { acc += x[r * p.n + i]; }
  out[i] = acc;
}`,
);
