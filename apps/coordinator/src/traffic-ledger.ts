import { encodedBytes, type TensorHeader } from '@openshard/protocol';

/** What the bytes of training messages carry: weights (whole or updates), parameter gradients, boundary activations (and their gradients), and the rest (JSON, ids, targets). */
export interface TrafficBytes {
  weights: number;
  gradients: number;
  activations: number;
  other: number;
}

export function emptyTraffic(): TrafficBytes {
  return { weights: 0, gradients: 0, activations: 0, other: 0 };
}

/** Adds one message of `total` bytes to the ledger: its tensors by what they carry, the remainder as other. */
export function countTraffic(ledger: TrafficBytes, type: string, json: unknown, total: number): void {
  const headers = (json as { tensors?: unknown } | null)?.tensors;
  let counted = 0;
  if (Array.isArray(headers)) {
    for (const h of headers as TensorHeader[]) {
      let bytes = 0;
      try {
        bytes = encodedBytes(h);
      } catch {
        continue; // a malformed header: refused elsewhere; its bytes stay 'other'
      }
      counted += bytes;
      ledger[kindOf(type, h)] += bytes;
    }
  }
  ledger.other += Math.max(0, total - counted);
}

const ACTIVATIONS = ['x', 'y', 'dx', 'dy'];

function kindOf(type: string, h: TensorHeader): keyof TrafficBytes {
  if (type === 'weights') return 'weights';
  if (h.dtype !== 'f32') return 'other'; // token ids and targets
  if (ACTIVATIONS.includes(h.name)) return 'activations';
  return type === 'result' || type === 'gradients' ? 'gradients' : 'other';
}
