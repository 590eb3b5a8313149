import proto, { type onnx as Onnx } from 'onnx-proto';

// onnx-proto is protobufjs code in CommonJS: only its default export exists at run time in ESM.
const { onnx } = proto;

/** The ONNX versions our graphs declare: opset 17 brings LayerNormalization; IR 8 is what opset 17 needs. */
export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;

/** Element types of the tensors our graphs take and give (TensorProto.DataType). */
export type OnnxDType = 'float32' | 'int64';
const ELEMENT_TYPE: Record<OnnxDType, number> = { float32: onnx.TensorProto.DataType.FLOAT, int64: onnx.TensorProto.DataType.INT64 };

/** A dimension is a size, or the name of a size known only at run time ('batch', 'sequence'…). */
export type OnnxDim = number | string;

/** A graph input or output: its name, element type and (symbolic) shape. */
export interface GraphTensor {
  name: string;
  dtype: OnnxDType;
  shape: OnnxDim[];
}

/** An attribute value: a float, an int (both JS numbers: integers become INT), or a list of ints. */
export type AttributeValue = { float: number } | number | number[];

function attribute(name: string, v: AttributeValue): Onnx.IAttributeProto {
  const { AttributeType } = onnx.AttributeProto;
  if (Array.isArray(v)) return { name, type: AttributeType.INTS, ints: v };
  if (typeof v === 'number') return { name, type: AttributeType.INT, i: v };
  return { name, type: AttributeType.FLOAT, f: v.float };
}

function valueInfo(t: GraphTensor): Onnx.IValueInfoProto {
  const dim = t.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name: t.name, type: { tensorType: { elemType: ELEMENT_TYPE[t.dtype], shape: { dim } } } };
}

/**
 * Builds one ONNX graph node by node. Every node's outputs get fresh names (`<prefix>/<op>_<n>`),
 * so subgraphs built by separate functions never collide.
 */
export class GraphBuilder {
  private readonly nodes: Onnx.INodeProto[] = [];
  private readonly initializers: Onnx.ITensorProto[] = [];
  private readonly names = new Set<string>();
  private count = 0;

  /** Adds a node and returns the names of its `outputs` fresh outputs. */
  nodeN(op: string, inputs: string[], outputs: number, attributes: Record<string, AttributeValue> = {}, prefix = ''): string[] {
    const id = this.count++;
    const out = Array.from({ length: outputs }, (_, k) => `${prefix}/${op}_${id}${outputs > 1 ? `_${k}` : ''}`);
    const attrs = Object.entries(attributes).map(([name, v]) => attribute(name, v));
    this.nodes.push({ opType: op, name: `${prefix}/${op}_${id}`, input: inputs, output: out, attribute: attrs });
    return out;
  }

  /** Adds a node with one output and returns its name. */
  node(op: string, inputs: string[], attributes: Record<string, AttributeValue> = {}, prefix = ''): string {
    return this.nodeN(op, inputs, 1, attributes, prefix)[0];
  }

  /** Renames a value to a graph output's name (an Identity node), so outputs keep their documented names. */
  output(value: string, name: string): void {
    this.nodes.push({ opType: 'Identity', name: `${name}/Identity`, input: [value], output: [name] });
  }

  /** A float32 initializer (a weight, or a constant), stored as little-endian raw bytes. */
  float32(name: string, dims: number[], data: Float32Array): string {
    return this.initializer(name, dims, ELEMENT_TYPE.float32, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  /** An int64 initializer (shapes, split sizes, axes). */
  int64(name: string, dims: number[], data: number[]): string {
    const bytes = BigInt64Array.from(data, (v) => BigInt(v));
    return this.initializer(name, dims, ELEMENT_TYPE.int64, new Uint8Array(bytes.buffer));
  }

  /** The serialized ModelProto. */
  encode(graphName: string, inputs: GraphTensor[], outputs: GraphTensor[]): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: ONNX_IR_VERSION,
      opsetImport: [{ domain: '', version: ONNX_OPSET }],
      producerName: 'openshard',
      graph: { name: graphName, node: this.nodes, initializer: this.initializers, input: inputs.map(valueInfo), output: outputs.map(valueInfo) },
    });
    return onnx.ModelProto.encode(model).finish();
  }

  private initializer(name: string, dims: number[], dataType: number, rawData: Uint8Array): string {
    if (this.names.has(name)) throw new Error(`initializer '${name}' is defined twice`);
    this.names.add(name);
    this.initializers.push({ name, dims, dataType, rawData });
    return name;
  }
}
