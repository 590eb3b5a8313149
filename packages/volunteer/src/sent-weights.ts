import { applyUpdate, type WireTensor } from '@openshard/protocol';

/**
 * The weights the volunteer was last sent, whole, and their version: what an update (a `weights`
 * message with `base`) is added to.
 */
export class SentWeights {
  private version: number | null = null;
  private tensors: WireTensor[] = [];

  /**
   * The whole weights at `version`: the tensors themselves, or the held weights plus the update
   * when `base` is given. If the held weights are not at `base` or do not match the update, says
   * why and forgets them (only whole weights are taken after that).
   */
  receive(version: number, base: number | undefined, tensors: WireTensor[]): WireTensor[] | string {
    try {
      const whole = base === undefined ? tensors : this.updated(base, tensors);
      this.version = version;
      this.tensors = whole;
      return whole;
    } catch (e) {
      this.forget();
      return (e as Error).message;
    }
  }

  private updated(base: number, update: WireTensor[]): WireTensor[] {
    if (this.version !== base) throw new Error(`an update from version ${base}, but the weights held are at ${this.version ?? 'none'}`);
    const held = new Map(this.tensors.map((t) => [t.name, t]));
    const whole = update.map((u): WireTensor => {
      const t = held.get(u.name);
      if (!t || t.data.length !== u.data.length) throw new Error(`an update of '${u.name}' [${u.shape}], which the weights held lack`);
      return { name: t.name, dtype: 'f32', shape: t.shape, data: applyUpdate(t.data as Float32Array, u.data as Float32Array) };
    });
    if (whole.length !== this.tensors.length) throw new Error(`an update of ${whole.length} tensors for weights of ${this.tensors.length}`);
    return whole;
  }

  forget(): void {
    this.version = null;
    this.tensors = [];
  }
}
