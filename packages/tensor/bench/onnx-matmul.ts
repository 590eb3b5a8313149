/**
 * The bytes of an ONNX model with one MatMul node, Y[M,N] = A[M,K] · B[K,N], both inputs fed
 * at run time: the peer our matmul is measured against in onnxruntime-web. Protobuf written by
 * hand (field numbers from onnx.proto) to avoid a protobuf dependency for ~30 bytes of schema.
 */
const ONNX_IR_VERSION = 8;
const ONNX_OPSET = 17;
const ONNX_FLOAT = 1;

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

const key = (field: number, wire: 0 | 2) => varint((field << 3) | wire);
const int = (field: number, v: number) => [...key(field, 0), ...varint(v)];
const bytes = (field: number, b: number[]) => [...key(field, 2), ...varint(b.length), ...b];
const str = (field: number, s: string) => bytes(field, [...new TextEncoder().encode(s)]);

function valueInfo(name: string, dims: number[]): number[] {
  const shape = dims.flatMap((d) => bytes(1, int(1, d)));
  const tensorType = [...int(1, ONNX_FLOAT), ...bytes(2, shape)];
  return [...str(1, name), ...bytes(2, bytes(1, tensorType))];
}

export function matmulModel(M: number, K: number, N: number): Uint8Array {
  const node = [...str(1, 'A'), ...str(1, 'B'), ...str(2, 'Y'), ...str(3, 'matmul'), ...str(4, 'MatMul')];
  const graph = [...bytes(1, node), ...str(2, 'matmul'), ...bytes(11, valueInfo('A', [M, K])), ...bytes(11, valueInfo('B', [K, N])), ...bytes(12, valueInfo('Y', [M, N]))];
  const opset = [...str(1, ''), ...int(2, ONNX_OPSET)];
  return Uint8Array.from([...int(1, ONNX_IR_VERSION), ...bytes(7, graph), ...bytes(8, opset)]);
}
