/**
 * The bytes of an ONNX model with one node computing Y[M,N] = op(A)·op(B), both inputs fed at
 * run time: the peer our matmul is measured against in onnxruntime-web. MatMul when neither
 * input is transposed, else Gemm with its transA / transB attributes (MatMul has none).
 * Protobuf written by hand (field numbers from onnx.proto) to avoid a protobuf dependency for
 * ~40 bytes of schema.
 */
const ONNX_IR_VERSION = 8;
const ONNX_OPSET = 17;
const ONNX_FLOAT = 1;
const ONNX_ATTRIBUTE_INT = 2;

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

// AttributeProto: name = 1, i = 3, type = 20.
const intAttribute = (name: string, v: number) => bytes(5, [...str(1, name), ...int(3, v), ...int(20, ONNX_ATTRIBUTE_INT)]);

export function matmulModel(M: number, K: number, N: number, transA = false, transB = false): Uint8Array {
  const gemm = transA || transB;
  const attributes = gemm ? [...intAttribute('transA', +transA), ...intAttribute('transB', +transB)] : [];
  const node = [...str(1, 'A'), ...str(1, 'B'), ...str(2, 'Y'), ...str(3, 'matmul'), ...str(4, gemm ? 'Gemm' : 'MatMul'), ...attributes];
  const aDims = transA ? [K, M] : [M, K];
  const bDims = transB ? [N, K] : [K, N];
  const graph = [...bytes(1, node), ...str(2, 'matmul'), ...bytes(11, valueInfo('A', aDims)), ...bytes(11, valueInfo('B', bDims)), ...bytes(12, valueInfo('Y', [M, N]))];
  const opset = [...str(1, ''), ...int(2, ONNX_OPSET)];
  return Uint8Array.from([...int(1, ONNX_IR_VERSION), ...bytes(7, graph), ...bytes(8, opset)]);
}
