import type { z } from 'zod';
import { ProtocolError } from './errors.ts';
import { DEFAULT_LIMITS, type ProtocolLimits } from './limits.ts';
import type { Codec } from './codecs.ts';
import { decodeTensor, encodedBytes, encodeTensor, type TensorHeader, type WireTensor } from './tensor-frame.ts';

export interface ParsedMessage<M> {
  type: string;
  message: M;
  /** The attachments, decoded and checked against their headers, in header order. */
  tensors: WireTensor[];
}

type Schemas = Record<string, z.ZodType>;

const encoder = new TextEncoder();

/**
 * Validates one received message completely before anything uses it: known type, JSON size,
 * schema, tensor headers (count, rank, unique names, total bytes), attachments (count, length)
 * and, with `finite`, every float value. Throws a ProtocolError naming the problem and the limit.
 */
export function parseMessage<S extends Schemas, K extends keyof S & string>(
  schemas: S,
  /** Typed for callers that know it; checked at run time all the same (it came off a socket). */
  type: K,
  json: unknown,
  attachments: readonly unknown[],
  o: { finite: boolean; limits?: ProtocolLimits },
): ParsedMessage<z.infer<S[K]>> {
  const limits = o.limits ?? DEFAULT_LIMITS;
  if (typeof (type as unknown) !== 'string' || !Object.hasOwn(schemas, type)) {
    throw new ProtocolError('unknown-type', `unknown message type ${JSON.stringify(type)}; expected one of ${Object.keys(schemas).join(', ')}`);
  }
  let jsonBytes: number;
  try {
    jsonBytes = encoder.encode(JSON.stringify(json) ?? '').length;
  } catch {
    throw new ProtocolError('bad-message', `${type}: the message is not JSON`);
  }
  if (jsonBytes > limits.maxJsonBytes) throw new ProtocolError('too-large', `${type}: JSON part is ${jsonBytes} bytes, above the limit of ${limits.maxJsonBytes}`);
  const parsed = schemas[type].safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length ? issue.path.join('.') : 'message';
    throw new ProtocolError('bad-message', `${type}: ${where}: ${issue.message}`);
  }
  const message = parsed.data as z.infer<S[K]>;
  const headers: TensorHeader[] = (message as { tensors?: TensorHeader[] }).tensors ?? [];
  if (headers.length > limits.maxTensors) throw new ProtocolError('too-large', `${type}: ${headers.length} tensors, above the limit of ${limits.maxTensors}`);
  const names = new Set<string>();
  let total = jsonBytes;
  for (const h of headers) {
    if (names.has(h.name)) throw new ProtocolError('bad-tensor', `${type}: tensor '${h.name}' appears twice`);
    names.add(h.name);
    if (h.shape.length > limits.maxRank) throw new ProtocolError('bad-tensor', `${type}: tensor '${h.name}' has ${h.shape.length} dimensions, above the limit of ${limits.maxRank}`);
    total += encodedBytes(h);
    if (total > limits.maxMessageBytes) throw new ProtocolError('too-large', `${type}: tensors add up to more than the limit of ${limits.maxMessageBytes} bytes`);
  }
  // all tensors travel back to back in one binary attachment (Socket.IO's parser caps attachments at 10)
  if (headers.length === 0) {
    if (attachments.length) throw new ProtocolError('bad-message', `${type}: ${attachments.length} binary attachments but no tensor headers`);
    return { type, message, tensors: [] };
  }
  if (attachments.length !== 1) throw new ProtocolError('bad-message', `${type}: ${attachments.length} binary attachments; the tensors travel in exactly one`);
  const bytes = asBytes(attachments[0]);
  if (!bytes) throw new ProtocolError('bad-tensor', `${type}: the attachment is not binary`);
  const needed = headers.reduce((a, h) => a + encodedBytes(h), 0);
  if (bytes.byteLength !== needed) {
    throw new ProtocolError('bad-tensor', `${type}: the attachment has ${bytes.byteLength} bytes; the tensor headers need ${needed}`);
  }
  let offset = 0;
  const tensors = headers.map((h) => {
    const part = bytes.subarray(offset, offset + encodedBytes(h));
    offset += part.byteLength;
    try {
      return decodeTensor(h, part, { finite: o.finite, maxMagnitude: limits.maxMagnitude });
    } catch (e) {
      if (e instanceof ProtocolError) throw new ProtocolError(e.code, `${type}: ${e.message}`);
      throw e;
    }
  });
  return { type, message, tensors };
}

function asBytes(x: unknown): Uint8Array | null {
  if (x instanceof Uint8Array) return x; // Node's Buffer included
  if (x instanceof ArrayBuffer) return new Uint8Array(x);
  if (ArrayBuffer.isView(x)) return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  return null;
}

/** The tensor headers for a message's JSON, and the attachments to emit after it: none, or one holding every tensor back to back. */
export function packTensors(tensors: readonly WireTensor[], codec?: (t: WireTensor) => Codec): { headers: TensorHeader[]; attachments: Uint8Array[] } {
  const encoded = tensors.map((t) => encodeTensor(t, codec?.(t)));
  if (encoded.length === 0) return { headers: [], attachments: [] };
  const all = new Uint8Array(encoded.reduce((a, e) => a + e.bytes.byteLength, 0));
  let offset = 0;
  for (const e of encoded) {
    all.set(e.bytes, offset);
    offset += e.bytes.byteLength;
  }
  return { headers: encoded.map((e) => e.header), attachments: [all] };
}
