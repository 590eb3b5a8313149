import { ShardInputError, type Shard } from '@openshard/model';
import type { TaskKind, WireTensor } from '@openshard/protocol';
import type { Tensor } from '@openshard/tensor';

export interface TaskOutput {
  /** 'y' (forward), or 'dx' (except on shard 0) and every parameter's gradient by name. */
  tensors: WireTensor[];
  /** Mean loss of the micro-batch (lossAndBackward). */
  loss?: number;
}

/**
 * Runs one task on the volunteer's shard. Stateless: the output depends only on the shard's
 * weights and the inputs (x; dy for backward; targets and lossScale for lossAndBackward).
 */
export async function executeTask(shard: Shard, kind: TaskKind, inputs: readonly WireTensor[], lossScale?: number): Promise<TaskOutput> {
  const be = shard.backend;
  const byName = new Map(inputs.map((t) => [t.name, t]));
  const input = (name: string): WireTensor => {
    const t = byName.get(name);
    if (!t) throw new ShardInputError(`${kind} task lacks input '${name}'`);
    return t;
  };
  const x = input('x');
  const held: Tensor[] = [];
  const hold = <T extends Tensor>(t: T) => (held.push(t), t);
  const ids = (t: WireTensor, name: string) => {
    if (t.dtype !== 'i32' || t.shape.length !== 2) throw new ShardInputError(`input '${name}' is ${t.dtype}[${t.shape}], expected i32 [B, T]`);
    return hold(shard.tokens(t.data as Int32Array, t.shape[0], t.shape[1], name));
  };
  const floats = (t: WireTensor) => {
    if (t.dtype !== 'f32') throw new ShardInputError(`input '${t.name}' is ${t.dtype}, expected f32`);
    return hold(be.upload(t.data, t.shape));
  };
  const read = async (name: string, t: Tensor): Promise<WireTensor> => ({ name, dtype: 'f32', shape: [...t.shape], data: (await be.read(t)) as Float32Array });
  try {
    const xs = shard.isFirst ? ids(x, 'x') : floats(x);
    if (kind === 'forward') return { tensors: [await read('y', hold(shard.forward(xs)))] };
    const r = kind === 'backward' ? shard.backward(xs, floats(input('dy'))) : await shard.lossAndBackward(xs, ids(input('targets'), 'targets'), { lossScale });
    if (r.dx) hold(r.dx);
    for (const g of r.grads.values()) hold(g);
    const tensors: WireTensor[] = r.dx ? [await read('dx', r.dx)] : [];
    for (const p of shard.parameters) tensors.push(await read(p.name, r.grads.get(p.name)!));
    return { tensors, loss: 'loss' in r ? (r.loss as number) : undefined };
  } finally {
    for (const t of held) t.dispose();
  }
}
