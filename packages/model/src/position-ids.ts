import type { Backend, Tensor } from '@openshard/tensor';

/** The position of every row of a [B, T] micro-batch, i32 [B·T] (0…T−1 per sequence); one tensor per (B, T), kept until disposed. */
export class PositionIds {
  private readonly byShape = new Map<number, Tensor>();

  constructor(
    private readonly backend: Backend,
    private readonly contextLength: number,
  ) {}

  of(B: number, T: number): Tensor {
    const key = B * (this.contextLength + 1) + T;
    let t = this.byShape.get(key);
    if (!t) {
      const ids = new Int32Array(B * T);
      for (let i = 0; i < ids.length; i++) ids[i] = i % T;
      t = this.backend.upload(ids, [B * T]);
      this.byShape.set(key, t);
    }
    return t;
  }

  dispose(): void {
    for (const t of this.byShape.values()) t.dispose();
    this.byShape.clear();
  }
}
