import { applyUpdate, type WireTensor } from '@openshard/protocol';

/**
 * The weights the volunteer was last sent, whole, and their version: what an update (a `weights`
 * message with `base`) is added to.
 */
export class HeldWeights {
  private version: number | null = null;
  private tensors: WireTensor[] = [];

  /**
   * The whole weights at `version`: the tensors themselves, or the held weights plus the update
   * when `base` is given. Throws if the held weights are not at `base` or lack a tensor.
   */
  receive(version: number, base: number | undefined, tensors: WireTensor[]): WireTensor[] {
    let whole = tensors;
    if (base !== undefined) {
      if (this.version !== base) throw new Error(`an update from version ${base}, but the weights held are at ${this.version ?? 'none'}`);
      const held = new Map(this.tensors.map((t) => [t.name, t]));
      whole = tensors.map((u) => {
        const t = held.get(u.name);
        if (!t) throw new Error(`an update of '${u.name}', which the weights held lack`);
        return { name: t.name, dtype: 'f32', shape: t.shape, data: applyUpdate(t.data as Float32Array, u.data as Float32Array) };
      });
      if (whole.length !== this.tensors.length) throw new Error(`an update of ${whole.length} tensors for weights of ${this.tensors.length}`);
    }
    this.version = version;
    this.tensors = whole;
    return whole;
  }

  forget(): void {
    this.version = null;
    this.tensors = [];
  }
}
