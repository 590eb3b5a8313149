import type { AttentionResult, Backend, LayernormResult, Tensor } from '@openshard/tensor';
import { LAYERNORM_EPS } from './config.ts';
import type { BlockNames } from './parameters.ts';
import type { GradientSink, TensorScope } from './scope.ts';

export type Weights = ReadonlyMap<string, Tensor>;

/** A micro-batch of B sequences of T tokens through a model of width C with `heads` heads. */
export interface PassDims {
  B: number;
  T: number;
  C: number;
  heads: number;
}

/**
 * What a block may write into the residual stream. Absent, the model is dense; a
 * `LowRankBoundary` projects every write onto the span of its basis.
 */
export interface ResidualWrites {
  // w is (N, C); returns the write actually added to the stream, (N, C). Linear and symmetric, so it also maps a write's gradient.
  project(w: Tensor): Tensor;
}

/** What a block's backward needs from its forward. */
export interface BlockCache {
  x: Tensor;
  ln1: LayernormResult;
  qkv: Tensor;
  att: AttentionResult;
  attRows: Tensor;
  x2: Tensor;
  ln2: LayernormResult;
  fc: Tensor;
  gelu: Tensor;
}

// x is (N, C) with N = B·T; y is (N, C). Every intermediate goes into `scope`; y does not.
export function blockForward(be: Backend, w: Weights, n: BlockNames, x: Tensor, d: PassDims, scope: TensorScope, writes?: ResidualWrites): { y: Tensor; cache: BlockCache } {
  const get = (name: string) => w.get(name)!;
  const write = (t: Tensor) => (writes ? scope.keep(writes.project(t)) : t);
  const rows = d.B * d.T;
  const ln1 = be.layernorm(x, get(n.ln1Weight), get(n.ln1Bias), LAYERNORM_EPS);
  scope.keep(ln1.out), scope.keep(ln1.mean), scope.keep(ln1.rstd);
  const qkvRows = scope.keep(be.matmul(ln1.out, get(n.attnWeight), { bias: get(n.attnBias) }));
  const qkv = scope.keep(be.reshape(qkvRows, [d.B, d.T, 3 * d.C]));
  const att = be.attention(qkv, d.heads);
  scope.keep(att.out), scope.keep(att.att);
  const attRows = scope.keep(be.reshape(att.out, [rows, d.C]));
  const proj = write(scope.keep(be.matmul(attRows, get(n.projWeight), { bias: get(n.projBias) })));
  const x2 = scope.keep(be.add(x, proj));
  const ln2 = be.layernorm(x2, get(n.ln2Weight), get(n.ln2Bias), LAYERNORM_EPS);
  scope.keep(ln2.out), scope.keep(ln2.mean), scope.keep(ln2.rstd);
  const fc = scope.keep(be.matmul(ln2.out, get(n.fcWeight), { bias: get(n.fcBias) }));
  const gelu = scope.keep(be.gelu(fc));
  const mlp = write(scope.keep(be.matmul(gelu, get(n.mlpProjWeight), { bias: get(n.mlpProjBias) })));
  const y = be.add(x2, mlp);
  return { y, cache: { x, ln1, qkv, att, attRows, x2, ln2, fc, gelu } };
}

// dy is (N, C); returns dx (N, C), not in `scope`. Parameter gradients go to `grads`.
export function blockBackward(be: Backend, w: Weights, n: BlockNames, c: BlockCache, dy: Tensor, d: PassDims, grads: GradientSink, scope: TensorScope, writes?: ResidualWrites): Tensor {
  const get = (name: string) => w.get(name)!;
  const write = (t: Tensor) => (writes ? scope.keep(writes.project(t)) : t);
  const linear = (dOut: Tensor, input: Tensor, weight: string, bias: string): Tensor => {
    const g = be.matmulBackward(dOut, input, get(weight), { bias: get(bias) });
    grads(weight, g.dB);
    grads(bias, g.dBias!);
    return scope.keep(g.dA);
  };
  const norm = (dOut: Tensor, input: Tensor, ln: LayernormResult, weight: string, bias: string): Tensor => {
    const g = be.layernormBackward(dOut, input, get(weight), ln.mean, ln.rstd);
    grads(weight, g.dWeight);
    grads(bias, g.dBias);
    return scope.keep(g.dx);
  };
  const dGelu = linear(write(dy), c.gelu, n.mlpProjWeight, n.mlpProjBias);
  const dFc = scope.keep(be.geluBackward(c.fc, dGelu));
  const dLn2 = linear(dFc, c.ln2.out, n.fcWeight, n.fcBias);
  const dx2 = scope.keep(be.add(dy, norm(dLn2, c.x2, c.ln2, n.ln2Weight, n.ln2Bias)));
  const dAttRows = linear(write(dx2), c.attRows, n.projWeight, n.projBias);
  const dAtt = scope.keep(be.reshape(dAttRows, [d.B, d.T, d.C]));
  const dQkv = scope.keep(be.attentionBackward(dAtt, c.qkv, c.att.att, d.heads));
  const dQkvRows = scope.keep(be.reshape(dQkv, [d.B * d.T, 3 * d.C]));
  const dLn1 = linear(dQkvRows, c.ln1.out, n.attnWeight, n.attnBias);
  return be.add(dx2, norm(dLn1, c.x, c.ln1, n.ln1Weight, n.ln1Bias));
}
