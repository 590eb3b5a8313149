import type { DType } from '../dtype.ts';

/** Threads per workgroup of the one-thread-per-element kernels. */
export const WORKGROUP_THREADS = 256;

/** A WGSL compute kernel: its uniform parameters, its storage bindings, and its body. */
export type ParamType = 'u32' | 'f32';
export type BindingAccess = 'read' | 'read_write';

export interface BindingSpec {
  name: string;
  type: DType;
  access: BindingAccess;
}

export interface Kernel {
  /** The op this kernel belongs to, used in labels and errors. */
  name: string;
  params: ReadonlyArray<readonly [string, ParamType]>;
  bindings: readonly BindingSpec[];
  /** Full WGSL: the generated header followed by the kernel's own code. */
  source: string;
}

/** Largest x (or y) a dispatch may use; a larger 1-D grid is folded into two dims. */
export const MAX_WORKGROUPS_PER_DIM = 65535;

/** Helpers every kernel may call. `linear_workgroup` undoes `foldWorkgroups`. */
const PRELUDE = /* wgsl */ `
fn linear_workgroup(wg: vec3u, nwg: vec3u) -> u32 { return wg.x + wg.y * nwg.x; }
// A var, not a const: WGSL refuses NaN in constant expressions.
fn nan_f32() -> f32 { var bits = 0x7fc00000u; return bitcast<f32>(bits); }
`;

/**
 * Threads of a one-row-per-workgroup kernel (norms, softmaxes). 64 keeps every thread busy
 * for rows of a few hundred to a few thousand elements, and keeps the barrier count of a
 * reduction low, which software rasterizers (SwiftShader) pay for per thread.
 */
export const ROW_THREADS = 64;

/**
 * Sum and max over a ROW_THREADS workgroup; call from uniform control flow only. Every thread
 * reads all partials (broadcast reads) instead of a log-depth tree: two barriers, not seven.
 */
export const WORKGROUP_REDUCE = /* wgsl */ `
const ROW_THREADS = ${ROW_THREADS}u;
var<workgroup> reduce_scratch: array<f32, ${ROW_THREADS}>;
fn workgroup_sum(li: u32, v: f32) -> f32 {
  reduce_scratch[li] = v;
  workgroupBarrier();
  var total = 0.0;
  for (var i = 0u; i < ROW_THREADS; i++) { total += reduce_scratch[i]; }
  workgroupBarrier();
  return total;
}
fn workgroup_max(li: u32, v: f32) -> f32 {
  reduce_scratch[li] = v;
  workgroupBarrier();
  var m = reduce_scratch[0];
  for (var i = 1u; i < ROW_THREADS; i++) { m = max(m, reduce_scratch[i]); }
  workgroupBarrier();
  return m;
}
`;

export function defineKernel(name: string, params: Kernel['params'], bindings: readonly BindingSpec[], body: string): Kernel {
  const fields = params.length > 0 ? params.map(([n, t]) => `  ${n}: ${t},`).join('\n') : '  unused: u32,';
  const header = [
    `// kernel: ${name}`,
    `struct Params {\n${fields}\n}`,
    '@group(0) @binding(0) var<uniform> p: Params;',
    ...bindings.map((b, i) => `@group(0) @binding(${i + 1}) var<storage, ${b.access}> ${b.name}: array<${b.type}>;`),
  ].join('\n');
  return { name, params, bindings, source: `${header}\n${PRELUDE}\n${body}` };
}

export const rw = (name: string, type: DType = 'f32'): BindingSpec => ({ name, type, access: 'read_write' });
export const ro = (name: string, type: DType = 'f32'): BindingSpec => ({ name, type, access: 'read' });

/** Workgroup counts for n independent workgroups, folded so no dimension exceeds the limit. */
export function foldWorkgroups(n: number): [number, number, number] {
  if (n <= MAX_WORKGROUPS_PER_DIM) return [Math.max(n, 1), 1, 1];
  return [MAX_WORKGROUPS_PER_DIM, Math.ceil(n / MAX_WORKGROUPS_PER_DIM), 1];
}

/** Opening of a one-thread-per-element kernel over p.n elements; the body uses `i`. */
export const ELEMENTWISE_MAIN = /* wgsl */ `
@compute @workgroup_size(${WORKGROUP_THREADS})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = linear_workgroup(wg, nwg) * ${WORKGROUP_THREADS}u + li;
  if (i >= p.n) { return; }`;
