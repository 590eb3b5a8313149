import { BOUNDARY_TENSORS, encodedBytes, type TensorHeader } from '@openshard/protocol';

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

/**
 * Adds one message of `total` bytes to the ledger: its tensors by what they carry, the remainder
 * as other. It runs before the message is parsed: a header that does not add up (a bad shape or
 * codec, more bytes than the message has) leaves its bytes as other.
 */
export function countTraffic(ledger: TrafficBytes, type: string, json: unknown, total: number): void {
  const headers = (json as { tensors?: unknown } | null)?.tensors;
  let counted = 0;
  if (Array.isArray(headers)) {
    for (const h of headers as TensorHeader[]) {
      let bytes = Number.NaN;
      try {
        bytes = encodedBytes(h);
      } catch {}
      if (!(Number.isSafeInteger(bytes) && bytes >= 0 && counted + bytes <= total)) continue;
      counted += bytes;
      ledger[kindOf(type, h)] += bytes;
    }
  }
  ledger.other += Math.max(0, total - counted);
}

function kindOf(type: string, h: TensorHeader): keyof TrafficBytes {
  if (type === 'weights') return 'weights';
  if (h.dtype !== 'f32') return 'other'; // token ids and targets
  if (BOUNDARY_TENSORS.includes(h.name)) return 'activations';
  return type === 'result' || type === 'gradients' ? 'gradients' : 'other';
}
