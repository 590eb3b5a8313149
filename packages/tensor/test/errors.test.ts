import { describe, expect, test } from 'vitest';
import type { Backend } from '../src/backend.ts';
import { CpuBackend } from '../src/cpu/backend.ts';
import { BufferLimitError, DeviceLostError, ShaderCompileError, TensorShapeError } from '../src/errors.ts';
import { defineKernel, rw } from '../src/webgpu/kernel.ts';
import { createNodeWebGpuBackend } from '../src/webgpu/node-gpu.ts';
import { nodeWebGpu } from './webgpu-node.ts';

const gpu = await nodeWebGpu();
const backends: [string, Backend][] = [
  ['cpu', new CpuBackend()],
  ['webgpu', gpu],
];

describe.each(backends)('%s: bad inputs are refused with the value and the limit', (_name, be) => {
  test('behavior: matmul with mismatched inner dims names both shapes', () => {
    const a = be.zeros([4, 64, 96]);
    const b = be.zeros([128, 8]);
    expect(() => be.matmul(a, b)).toThrow(TensorShapeError);
    expect(() => be.matmul(a, b)).toThrow('a [4,64,96] has K=96, b [128,8] has K=128');
  });

  test('behavior: wrong dtype and disposed tensors are refused', () => {
    const ids = be.zeros([3], 'f32');
    const table = be.zeros([5, 2]);
    expect(() => be.embedding(ids, table)).toThrow("tensor 'ids' has dtype f32, expected i32");
    table.dispose();
    expect(() => be.embedding(be.zeros([3], 'i32'), table)).toThrow("tensor 'table' f32[5,2] was already disposed");
  });

  test('behavior: heads that do not divide C are refused', () => {
    expect(() => be.attention(be.zeros([1, 4, 30]), 3)).toThrow('3 heads do not divide the channel count C=10');
  });

  test('behavior: upload with a size that does not match the shape is refused', () => {
    expect(() => be.upload(new Float32Array(5), [2, 3])).toThrow('shape [2,3] holds 6 elements, data has 5');
  });

  test('behavior: a tensor from another backend is refused', () => {
    const other = backends.find(([n]) => n !== be.name)![1];
    expect(() => be.gelu(other.zeros([2]))).toThrow(`lives on backend '${other.name}', expected '${be.name}'`);
  });
});

/** One bad input per op, with the words every backend must refuse it with (one check per op, in check.ts). */
const refusals: [string, (be: Backend) => unknown, string][] = [
  ['reshape to another size', (be) => be.reshape(be.zeros([2, 3]), [5]), 'reshape: shape [5] holds 5 elements, data has 6'],
  ['matmul with a bias of the wrong width', (be) => be.matmul(be.zeros([2, 3]), be.zeros([3, 4]), { bias: be.zeros([5]) }), "matmul: tensor 'bias' has shape [5], expected [4]"],
  ['columnSum of token ids', (be) => be.columnSum(be.zeros([2, 3], 'i32')), "columnSum: tensor 'x' has dtype i32, expected f32"],
  ['embeddingBackward with a dOut of other rows', (be) => be.embeddingBackward(be.zeros([2], 'i32'), be.zeros([3, 2]), 4), "embeddingBackward: tensor 'dOut' has shape [3,2], expected [2,2]"],
  ['layernorm with a bias that is not [C]', (be) => be.layernorm(be.zeros([2, 4]), be.zeros([4]), be.zeros([3]), 1e-5), "layernorm: tensor 'bias' has shape [3], expected [4]"],
  [
    'layernormBackward with a weight that is not [C]',
    (be) => be.layernormBackward(be.zeros([2, 4]), be.zeros([2, 4]), be.zeros([3]), be.zeros([2]), be.zeros([2])),
    "layernormBackward: tensor 'weight' has shape [3], expected [4]",
  ],
  [
    'layernormBackward with an rstd that is not [N]',
    (be) => be.layernormBackward(be.zeros([2, 4]), be.zeros([2, 4]), be.zeros([4]), be.zeros([2]), be.zeros([4])),
    "layernormBackward: tensor 'rstd' has shape [4], expected [2]",
  ],
  ['gelu of token ids', (be) => be.gelu(be.zeros([2], 'i32')), "gelu: tensor 'x' has dtype i32, expected f32"],
  ['geluBackward with a dOut of another shape', (be) => be.geluBackward(be.zeros([2]), be.zeros([3])), "geluBackward: tensor 'dOut' has shape [3], expected [2]"],
  [
    'attentionBackward with att of the wrong size',
    (be) => be.attentionBackward(be.zeros([1, 2, 4]), be.zeros([1, 2, 12]), be.zeros([1, 2, 3, 3]), 2),
    "attentionBackward: tensor 'att' has shape [1,2,3,3], expected [1,2,2,2]",
  ],
  ['add of two shapes', (be) => be.add(be.zeros([2, 3]), be.zeros([3, 2])), "add: tensor 'b' has shape [3,2], expected [2,3]"],
  [
    'accumulate of a disposed tensor',
    (be) => {
      const src = be.zeros([2]);
      src.dispose();
      return be.accumulate(be.zeros([2]), src);
    },
    "accumulate: tensor 'src' f32[2] was already disposed",
  ],
  ['crossEntropy with float targets', (be) => be.crossEntropy(be.zeros([2, 4]), be.zeros([2])), "crossEntropy: tensor 'targets' has dtype f32, expected i32"],
  [
    'crossEntropyBackward with targets of other rows',
    (be) => be.crossEntropyBackward(be.zeros([2, 4]), be.zeros([3], 'i32'), 0.5),
    "crossEntropyBackward: tensor 'targets' has shape [3], expected [2]",
  ],
  [
    'adamw with a second moment of another shape',
    (be) => be.adamw(be.zeros([2]), be.zeros([2]), be.zeros([2]), be.zeros([3]), { lr: 1e-3, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, step: 1 }),
    "adamw: tensor 'v' has shape [3], expected [2]",
  ],
];

describe.each(refusals)('error: %s', (_what, call, message) => {
  test.each(backends)('%s refuses it with the same words', (_name, be) => {
    let refused: unknown;
    try {
      call(be);
    } catch (e) {
      refused = e;
    }
    expect(refused).toBeInstanceOf(TensorShapeError);
    expect((refused as Error).message).toBe(message);
  });
});

describe('out-of-vocabulary ids never become silent garbage', () => {
  test('behavior: the CPU reference throws, naming the id, its position and the vocabulary', () => {
    const be = new CpuBackend();
    expect(() => be.embedding(be.upload(Int32Array.from([1, 9]), [2]), be.zeros([4, 2]))).toThrow('id 9 at position 1 is outside the vocabulary [0, 4)');
  });

  test('behavior: WebGPU yields NaN rows and NaN losses', async () => {
    const emb = await gpu.read(gpu.embedding(gpu.upload(Int32Array.from([1, 9]), [2]), gpu.zeros([4, 2])));
    expect(Array.from(emb.slice(0, 2))).toEqual([0, 0]);
    expect(emb.slice(2).every(Number.isNaN)).toBe(true);
    const { losses } = gpu.crossEntropy(gpu.zeros([2, 4]), gpu.upload(Int32Array.from([3, -1]), [2]));
    const l = await gpu.read(losses);
    expect(l[0]).toBeCloseTo(Math.log(4), 6);
    expect(l[1]).toBeNaN();
  });
});

describe('WebGPU failures surface as typed errors', () => {
  test('behavior: a tensor above maxStorageBufferBindingSize is refused before allocating', () => {
    const limit = gpu.device.limits.maxStorageBufferBindingSize;
    const rows = Math.ceil(limit / 4 / 1024) + 1;
    expect(() => gpu.zeros([rows, 1024])).toThrow(BufferLimitError);
    expect(() => gpu.zeros([rows, 1024])).toThrow(`above this adapter's maxStorageBufferBindingSize of ${limit} bytes`);
  });

  test('behavior: a WGSL compile error names the op and its shapes, and the backend keeps working', async () => {
    const broken = defineKernel('brokenOp', [['n', 'u32']], [rw('x')], '@compute @workgroup_size(1) fn main() { x[0] = undefined_name; }');
    const x = gpu.zeros([3, 2]);
    gpu.dispatch(broken, [x], [6], [1, 1, 1]);
    const error = await gpu.sync().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShaderCompileError);
    expect((error as Error).message).toMatch(/^brokenOp \[3,2\]: WGSL pipeline failed to build: .*undefined_name/);
    expect(Array.from(await gpu.read(gpu.add(x, x)))).toEqual([0, 0, 0, 0, 0, 0]);
  });

  test('behavior: after device loss every op and read throws DeviceLostError', async () => {
    const be = await createNodeWebGpuBackend();
    const x = be.upload(Float32Array.from([1, 2]), [2]);
    be.device.destroy();
    await be.device.lost;
    expect(() => be.gelu(x)).toThrow(DeviceLostError);
    await expect(be.read(x)).rejects.toThrow(/read: the WebGPU device was lost \(destroyed/);
    be.destroy();
  });
});

describe.each(backends)('%s: embedding tables', (_name, be) => {
  test('behavior: a table that is not [V,C] is refused', () => {
    expect(() => be.embedding(be.zeros([2], 'i32'), be.zeros([2, 3, 4]))).toThrow("tensor 'table' has shape [2,3,4], expected [V,C]");
  });
});

test('behavior: WebGPU refuses a matmul whose workgroup grid exceeds the adapter limit', () => {
  const limit = gpu.device.limits.maxComputeWorkgroupsPerDimension;
  const a = gpu.zeros([limit + 1, 1, 1]);
  const b = gpu.zeros([limit + 1, 1, 1]);
  expect(() => gpu.matmul(a, b)).toThrow(`needs a workgroup grid of [1,1,${limit + 1}], above this adapter's ${limit} per dimension`);
});
