import { Random, type Backend, type Tensor } from '@openshard/tensor';
import type { ResidualWrites } from './block.ts';
import type { GptConfig } from './config.ts';
import { ConfigError } from './errors.ts';
import { PositionIds } from './position-ids.ts';
import { TensorScope } from './scope.ts';

/**
 * Low-rank boundary compression, as Pluralis's protocol models (Ramasinghe et al. 2025,
 * "Protocol Models", arXiv 2506.01260). docs/boundary-compression.md has the derivation.
 *
 * The residual stream is x = E[token] + P[position] + U·z, where U is a fixed C×k orthonormal
 * basis, seeded, shared by every stage and never trained. Every block projects what it writes
 * into the stream (the attention and MLP output projections) onto span(U): w ← U·Uᵀ·w.
 * Invariant: after every block, x − (E[tok] + P[pos]) lies in span(U). So a stage boundary
 * carries z = Uᵀ(x − E[tok] − P[pos]), k numbers per token, with the token ids, and the next
 * stage rebuilds x = E[tok] + P[pos] + U·z exactly.
 *
 * Backward: the receiving stage holds g = ∂L/∂x at its input and sends dz = Uᵀ·g; the sending
 * stage goes on with U·dz. What is left, (I − U·Uᵀ)·g, is the gradient of the embeddings the
 * rebuild read (E[tok] + P[pos] enters x directly, and −U·Uᵀ·(E[tok] + P[pos]) through z): the
 * receiving stage scatters it into ∂L/∂E and ∂L/∂P. Added to shard 0's, the sharded gradients
 * are those of the unsharded low-rank model.
 */

/** The embeddings every stage needs to rebuild x: E [vocabSize, C] and P [contextLength, C]. */
export interface BoundaryEmbeddings {
  token: Tensor;
  position: Tensor;
}

export interface EmbeddingGradients {
  /** ∂L/∂E [vocabSize, C]. */
  token: Tensor;
  /** ∂L/∂P [contextLength, C]. */
  position: Tensor;
}

/** Seeds the basis apart from every parameter's stream (those are seed ^ nameHash(name)). */
const BASIS_STREAM = 0x5ab5bace;

/**
 * A C×k matrix with orthonormal columns, row-major [C, k]: Gaussian columns through modified
 * Gram–Schmidt, applied twice so the columns stay orthogonal to f64 rounding.
 */
export function orthonormalBasis(width: number, rank: number, seed: number): Float64Array {
  const random = new Random((seed ^ BASIS_STREAM) >>> 0);
  const columns = Array.from({ length: rank }, () => Float64Array.from({ length: width }, () => random.normal()));
  for (let j = 0; j < rank; j++) {
    const v = columns[j];
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < j; i++) {
        const u = columns[i];
        let dot = 0;
        for (let c = 0; c < width; c++) dot += u[c] * v[c];
        for (let c = 0; c < width; c++) v[c] -= dot * u[c];
      }
    }
    let norm = 0;
    for (let c = 0; c < width; c++) norm += v[c] * v[c];
    norm = Math.sqrt(norm);
    for (let c = 0; c < width; c++) v[c] /= norm;
  }
  const out = new Float64Array(width * rank);
  for (let c = 0; c < width; c++) for (let j = 0; j < rank; j++) out[c * rank + j] = columns[j][c];
  return out;
}

/**
 * One model's low-rank boundary on a backend: the basis U and the encode/decode of what
 * crosses a stage boundary. Shared by every shard of the model; it owns U and disposes it.
 * Every method returns a new tensor the caller owns and leaves its inputs alone.
 */
export class LowRankBoundary implements ResidualWrites {
  private readonly positions: PositionIds;

  private constructor(
    readonly backend: Backend,
    readonly config: GptConfig,
    /** k, the numbers per token that cross a boundary. */
    readonly rank: number,
    /** U [C, k]. */
    readonly basis: Tensor,
    /** −U [C, k]: the backend has no subtraction, and −(a·U) = a·(−U) exactly. */
    private readonly negatedBasis: Tensor,
  ) {
    this.positions = new PositionIds(backend, config.contextLength);
  }

  /** The basis seeded by `seed`; rank k must be in [1, width]. */
  static create(be: Backend, config: GptConfig, rank: number, seed: number): LowRankBoundary {
    const C = config.width;
    if (!Number.isInteger(rank) || rank < 1 || rank > C) {
      throw new ConfigError(`boundary rank is ${rank}; it must be an integer from 1 to the width ${C}`);
    }
    const u = orthonormalBasis(C, rank, seed);
    return new LowRankBoundary(
      be,
      config,
      rank,
      be.upload(u, [C, rank]),
      be.upload(
        u.map((v) => -v),
        [C, rank],
      ),
    );
  }

  // w is (N, C); returns U·Uᵀ·w (N, C). U·Uᵀ is symmetric, so the gradient of a projected write is projected the same way.
  project(w: Tensor): Tensor {
    const coordinates = this.backend.matmul(w, this.basis);
    try {
      return this.backend.matmul(coordinates, this.basis, { transB: true });
    } finally {
      coordinates.dispose();
    }
  }

  // x is (B, T, C), ids i32 (B, T); returns z = Uᵀ(x − E[tok] − P[pos]), (B, T, k).
  encode(x: Tensor, ids: Tensor, embeddings: BoundaryEmbeddings): Tensor {
    const be = this.backend;
    const [B, T] = ids.shape;
    const scope = new TensorScope();
    try {
      const rows = scope.keep(be.reshape(x, [B * T, this.config.width]));
      const base = scope.keep(this.base(ids, embeddings, scope));
      const z = scope.keep(be.add(scope.keep(be.matmul(rows, this.basis)), scope.keep(be.matmul(base, this.negatedBasis))));
      return be.reshape(z, [B, T, this.rank]);
    } finally {
      scope.dispose();
    }
  }

  // z is (B, T, k), ids i32 (B, T); returns x = E[tok] + P[pos] + U·z, (B, T, C).
  decode(z: Tensor, ids: Tensor, embeddings: BoundaryEmbeddings): Tensor {
    const be = this.backend;
    const [B, T] = ids.shape;
    const scope = new TensorScope();
    try {
      const zRows = scope.keep(be.reshape(z, [B * T, this.rank]));
      const base = scope.keep(this.base(ids, embeddings, scope));
      const x = scope.keep(be.add(base, scope.keep(be.matmul(zRows, this.basis, { transB: true }))));
      return be.reshape(x, [B, T, this.config.width]);
    } finally {
      scope.dispose();
    }
  }

  // g is ∂L/∂x (B, T, C) at the receiving stage's input; returns dz = Uᵀ·g, (B, T, k).
  encodeGradient(g: Tensor): Tensor {
    const [B, T, C] = g.shape;
    const scope = new TensorScope();
    try {
      const rows = scope.keep(this.backend.reshape(g, [B * T, C]));
      const dz = scope.keep(this.backend.matmul(rows, this.basis));
      return this.backend.reshape(dz, [B, T, this.rank]);
    } finally {
      scope.dispose();
    }
  }

  // dz is (B, T, k); returns U·dz (B, T, C), the gradient of the sending stage's output.
  decodeGradient(dz: Tensor): Tensor {
    const [B, T, k] = dz.shape;
    const scope = new TensorScope();
    try {
      const rows = scope.keep(this.backend.reshape(dz, [B * T, k]));
      const dx = scope.keep(this.backend.matmul(rows, this.basis, { transB: true }));
      return this.backend.reshape(dx, [B, T, this.config.width]);
    } finally {
      scope.dispose();
    }
  }

  // g is ∂L/∂x (B, T, C) at the receiving stage's input, ids i32 (B, T); (I − U·Uᵀ)·g scattered by token and by position.
  embeddingGradients(g: Tensor, ids: Tensor): EmbeddingGradients {
    const be = this.backend;
    const [B, T, C] = g.shape;
    const scope = new TensorScope();
    try {
      const rows = scope.keep(be.reshape(g, [B * T, C]));
      const coordinates = scope.keep(be.matmul(rows, this.basis));
      const outside = scope.keep(be.add(rows, scope.keep(be.matmul(coordinates, this.negatedBasis, { transB: true }))));
      const tokenIds = scope.keep(be.reshape(ids, [B * T]));
      return {
        token: be.embeddingBackward(tokenIds, outside, this.config.vocabSize),
        position: be.embeddingBackward(this.positions.of(B, T), outside, this.config.contextLength),
      };
    } finally {
      scope.dispose();
    }
  }

  dispose(): void {
    this.basis.dispose();
    this.negatedBasis.dispose();
    this.positions.dispose();
  }

  /** E[tok] + P[pos] as rows (B·T, C), as shard 0 computes it; its intermediates go into `scope`. */
  private base(ids: Tensor, embeddings: BoundaryEmbeddings, scope: TensorScope): Tensor {
    const be = this.backend;
    const [B, T] = ids.shape;
    const tok = scope.keep(be.embedding(scope.keep(be.reshape(ids, [B * T])), embeddings.token));
    const pos = scope.keep(be.embedding(this.positions.of(B, T), embeddings.position));
    return be.add(tok, pos);
  }
}
