import type { Tensor } from '@openshard/tensor';

/** Collects intermediate tensors so a pass can free them all at once. */
export class TensorScope {
  private readonly held: Tensor[] = [];

  keep<T extends Tensor>(t: T): T {
    this.held.push(t);
    return t;
  }

  dispose(): void {
    for (const t of this.held) t.dispose();
    this.held.length = 0;
  }
}

/** Where a backward pass puts each parameter's gradient; ownership of the tensor passes to it. */
export type GradientSink = (name: string, grad: Tensor) => void;
