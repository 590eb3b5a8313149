import type { Backend } from '../src/backend.ts';
import { Random } from '../src/random.ts';
import type { Tensor } from '../src/tensor.ts';

/**
 * One pre-LayerNorm GPT-2 block built from the Backend's ops, forward and backward, with an
 * AdamW step: the unit of work the memory test repeats. (The model package owns the real one.)
 */
export interface BlockShape {
  B: number;
  T: number;
  C: number;
  heads: number;
}

const PARAMS = ['ln1w', 'ln1b', 'wqkv', 'bqkv', 'wproj', 'bproj', 'ln2w', 'ln2b', 'wfc', 'bfc', 'wmlp', 'bmlp'] as const;
type ParamName = (typeof PARAMS)[number];

export class GptBlock {
  readonly params: Record<ParamName, Tensor>;
  readonly grads: Record<ParamName, Tensor>;
  private readonly m: Record<ParamName, Tensor>;
  private readonly v: Record<ParamName, Tensor>;
  private step = 0;

  constructor(
    private readonly be: Backend,
    private readonly s: BlockShape,
    seed = 1,
  ) {
    const rng = new Random(seed);
    const { C } = s;
    const shapes: Record<ParamName, number[]> = {
      ln1w: [C],
      ln1b: [C],
      wqkv: [C, 3 * C],
      bqkv: [3 * C],
      wproj: [C, C],
      bproj: [C],
      ln2w: [C],
      ln2b: [C],
      wfc: [C, 4 * C],
      bfc: [4 * C],
      wmlp: [4 * C, C],
      bmlp: [C],
    };
    const init = (name: ParamName, shape: number[]) =>
      name.startsWith('ln') && name.endsWith('w')
        ? be.upload(new Float32Array(shape[0]).fill(1), shape)
        : be.upload(
            rng.normals(
              shape.reduce((a, b) => a * b, 1),
              0.02,
            ),
            shape,
          );
    const each = (f: (n: ParamName) => Tensor) => Object.fromEntries(PARAMS.map((n) => [n, f(n)])) as Record<ParamName, Tensor>;
    this.params = each((n) => init(n, shapes[n]));
    this.grads = each((n) => be.zeros(shapes[n]));
    this.m = each((n) => be.zeros(shapes[n]));
    this.v = each((n) => be.zeros(shapes[n]));
  }

  /** Forward, backward with dOut = dy, gradient accumulation, and one AdamW step. Returns y. */
  trainStep(x: Tensor, dy: Tensor): Tensor {
    const { be, params: p, s } = this;
    const disposeLater: Tensor[] = [];
    const keep = <T extends Tensor>(t: T) => (disposeLater.push(t), t);
    const C4 = 4 * s.C;
    const rows = s.B * s.T;
    // forward
    const ln1 = be.layernorm(x, p.ln1w, p.ln1b, 1e-5);
    disposeLater.push(ln1.out, ln1.mean, ln1.rstd);
    const qkv = keep(be.matmul(keep(be.reshape(ln1.out, [rows, s.C])), p.wqkv, { bias: p.bqkv }));
    const qkv3 = keep(be.reshape(qkv, [s.B, s.T, 3 * s.C]));
    const att = be.attention(qkv3, s.heads);
    disposeLater.push(att.out, att.att);
    const attRows = keep(be.reshape(att.out, [rows, s.C]));
    const proj = keep(be.matmul(attRows, p.wproj, { bias: p.bproj }));
    const x2 = keep(be.add(keep(be.reshape(x, [rows, s.C])), proj));
    const ln2 = be.layernorm(x2, p.ln2w, p.ln2b, 1e-5);
    disposeLater.push(ln2.out, ln2.mean, ln2.rstd);
    const fc = keep(be.matmul(ln2.out, p.wfc, { bias: p.bfc }));
    const g = keep(be.gelu(fc));
    const mlp = keep(be.matmul(g, p.wmlp, { bias: p.bmlp }));
    const y = be.add(x2, mlp);
    // backward
    const dyRows = keep(be.reshape(dy, [rows, s.C]));
    const gMlp = be.matmulBackward(dyRows, g, p.wmlp, { bias: p.bmlp });
    this.collect(gMlp, 'wmlp', 'bmlp', disposeLater);
    const dFc = keep(be.geluBackward(fc, gMlp.dA));
    const gFc = be.matmulBackward(dFc, ln2.out, p.wfc, { bias: p.bfc });
    this.collect(gFc, 'wfc', 'bfc', disposeLater);
    const gLn2 = be.layernormBackward(gFc.dA, x2, p.ln2w, ln2.mean, ln2.rstd);
    this.collectNorm(gLn2, 'ln2w', 'ln2b', disposeLater);
    const dx2 = keep(be.add(dyRows, gLn2.dx));
    const gProj = be.matmulBackward(dx2, attRows, p.wproj, { bias: p.bproj });
    this.collect(gProj, 'wproj', 'bproj', disposeLater);
    const dAtt = keep(be.reshape(gProj.dA, [s.B, s.T, s.C]));
    const dqkv = keep(be.attentionBackward(dAtt, qkv3, att.att, s.heads));
    const gQkv = be.matmulBackward(keep(be.reshape(dqkv, [rows, 3 * s.C])), keep(be.reshape(ln1.out, [rows, s.C])), p.wqkv, { bias: p.bqkv });
    this.collect(gQkv, 'wqkv', 'bqkv', disposeLater);
    const gLn1 = be.layernormBackward(keep(be.reshape(gQkv.dA, [s.B, s.T, s.C])), x, p.ln1w, ln1.mean, ln1.rstd);
    this.collectNorm(gLn1, 'ln1w', 'ln1b', disposeLater);
    disposeLater.push(be.add(dx2, keep(be.reshape(gLn1.dx, [rows, s.C]))));
    // optimizer
    this.step += 1;
    for (const n of PARAMS) {
      be.adamw(p[n], this.grads[n], this.m[n], this.v[n], { lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: this.step });
    }
    for (const t of disposeLater) t.dispose();
    return y;
  }

  private collect(gr: { dA: Tensor; dB: Tensor; dBias?: Tensor }, w: ParamName, b: ParamName, later: Tensor[]): void {
    this.be.accumulate(this.grads[w], gr.dB);
    this.be.accumulate(this.grads[b], gr.dBias!);
    later.push(gr.dA, gr.dB, gr.dBias!);
  }

  private collectNorm(gr: { dx: Tensor; dWeight: Tensor; dBias: Tensor }, w: ParamName, b: ParamName, later: Tensor[]): void {
    this.be.accumulate(this.grads[w], gr.dWeight);
    this.be.accumulate(this.grads[b], gr.dBias);
    later.push(gr.dx, gr.dWeight, gr.dBias);
  }

  dispose(): void {
    for (const group of [this.params, this.grads, this.m, this.v]) for (const t of Object.values(group)) t.dispose();
  }
}
