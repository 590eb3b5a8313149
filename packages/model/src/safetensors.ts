import { CheckpointError } from './errors.ts';
import { crc32 } from './crc32.ts';

/**
 * The safetensors format (huggingface/safetensors): an 8-byte little-endian header length, a
 * JSON header naming each tensor's dtype, shape and byte range, then the tensors' bytes
 * back to back. We read and write little-endian F32 and I32 only.
 */
export type SafetensorsDType = 'F32' | 'I32';

export interface SafetensorsTensor {
  dtype: SafetensorsDType;
  shape: number[];
  data: Float32Array | Int32Array;
}

export interface SafetensorsFile {
  tensors: Map<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

/** The header may not exceed this (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;
/** Metadata key of the CRC-32 of the data section, written by us and checked when present. */
export const CRC_METADATA_KEY = 'openshard.crc32';
const HEADER_ALIGNMENT = 8;

export function encodeSafetensors(tensors: ReadonlyMap<string, SafetensorsTensor>, metadata: Record<string, string> = {}): Uint8Array {
  let offset = 0;
  const entries: Record<string, unknown> = {};
  for (const [name, t] of tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.data.length) throw new Error(`tensor '${name}' has ${t.data.length} values for shape [${t.shape}]`);
    entries[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  const data = new Uint8Array(offset);
  let at = 0;
  for (const t of tensors.values()) {
    data.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  const meta = { ...metadata, [CRC_METADATA_KEY]: crc32(data).toString(16).padStart(8, '0') };
  let header = new TextEncoder().encode(JSON.stringify({ __metadata__: meta, ...entries }));
  const padded = Math.ceil(header.length / HEADER_ALIGNMENT) * HEADER_ALIGNMENT;
  const headerBytes = new Uint8Array(padded).fill(0x20);
  headerBytes.set(header);
  header = headerBytes;
  const out = new Uint8Array(8 + header.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  out.set(data, 8 + header.length);
  return out;
}

/** Parses and checks a whole file; every structural problem is a CheckpointError naming it. */
export function decodeSafetensors(bytes: Uint8Array, file: string): SafetensorsFile {
  const fail = (problem: string): never => {
    throw new CheckpointError(file, problem);
  };
  if (bytes.length < 8) fail(`is ${bytes.length} bytes long, shorter than the 8-byte header length: truncated`);
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES) fail(`header length ${headerLength} is above the limit of ${MAX_HEADER_BYTES} bytes: not a safetensors file, or corrupted`);
  if (8 + headerLength > bytes.length) fail(`header claims ${headerLength} bytes but only ${bytes.length - 8} follow: truncated`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message}): corrupted`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const data = bytes.subarray(8 + headerLength);
  const { __metadata__: rawMeta, ...entries } = header as Record<string, unknown>;
  const metadata = parseMetadata(rawMeta, fail);
  const ranges: { name: string; begin: number; end: number }[] = [];
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, raw] of Object.entries(entries)) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(`tensor '${name}' has header ${JSON.stringify(raw)}, not an object`);
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e.dtype !== 'F32' && e.dtype !== 'I32') fail(`tensor '${name}' has dtype ${JSON.stringify(e.dtype)}; only F32 and I32 are supported`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`tensor '${name}' has shape ${JSON.stringify(shape)}, not a list of sizes`);
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o) && o >= 0)) {
      fail(`tensor '${name}' has data_offsets ${JSON.stringify(offsets)}, expected [begin, end]`);
    }
    const [begin, end] = offsets as [number, number];
    const expected = (shape as number[]).reduce((a, b) => a * b, 1) * 4;
    if (end - begin !== expected) fail(`tensor '${name}' spans ${end - begin} bytes, but ${e.dtype}[${shape}] needs ${expected}`);
    if (end > data.length) fail(`tensor '${name}' ends at byte ${end} of the data section, which has only ${data.length}: truncated`);
    ranges.push({ name, begin, end });
    // a copy with its own buffer (a Node Buffer's slice would share the whole file's memory)
    const copy = new Uint8Array(data.subarray(begin, end)).buffer;
    tensors.set(name, { dtype: e.dtype as SafetensorsDType, shape: shape as number[], data: e.dtype === 'F32' ? new Float32Array(copy) : new Int32Array(copy) });
  }
  ranges.sort((a, b) => a.begin - b.begin);
  let cursor = 0;
  for (const r of ranges) {
    if (r.begin !== cursor) fail(`tensor '${r.name}' starts at byte ${r.begin}, expected ${cursor}: tensors must be stored back to back`);
    cursor = r.end;
  }
  if (cursor !== data.length) fail(`${data.length - cursor} bytes follow the last tensor: corrupted or not one file`);
  const stored = metadata[CRC_METADATA_KEY];
  if (stored !== undefined) {
    const actual = crc32(data).toString(16).padStart(8, '0');
    if (actual !== stored) fail(`tensor bytes have CRC-32 ${actual}, the header recorded ${stored}: the file is corrupted`);
  }
  return { tensors, metadata };
}

function parseMetadata(raw: unknown, fail: (p: string) => never): Record<string, string> {
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('__metadata__ is not an object');
  for (const [k, v] of Object.entries(raw as object)) {
    if (typeof v !== 'string') fail(`__metadata__.${k} is ${JSON.stringify(v)}, expected a string`);
  }
  return raw as Record<string, string>;
}
