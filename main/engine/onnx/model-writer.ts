/**
 * A tiny ONNX model writer: encodes ModelProto / GraphProto / NodeProto / TensorProto /
 * ValueInfoProto / AttributeProto with a hand-written protobuf encoder (field numbers from
 * onnx/onnx.proto). It builds the training step's loss graph (engine/train/step-graph.ts), which
 * onnxruntime runs on its optimised CPU kernels, and the tests' small models with SAM's encoder and
 * decoder signatures. Meant for graphs of operators with small initializers: tensors are encoded
 * byte by byte.
 */

// ---- protobuf wire format -------------------------------------------------------------------

class ProtoWriter {
  private chunks: number[] = [];

  private varint(v: bigint): void {
    // Negative int64 values use ten-byte two's complement, as protobuf specifies.
    let x = v < 0n ? v + (1n << 64n) : v;
    while (x > 0x7fn) {
      this.chunks.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.chunks.push(Number(x));
  }

  private tag(field: number, wire: number): void {
    this.varint(BigInt((field << 3) | wire));
  }

  int(field: number, v: number | bigint): this {
    this.tag(field, 0);
    this.varint(BigInt(v));
    return this;
  }

  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.chunks.push(...b);
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, 2);
    this.varint(BigInt(data.length));
    for (let i = 0; i < data.length; i++) this.chunks.push(data[i]!);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, m: ProtoWriter): this {
    return this.bytes(field, m.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

// ---- ONNX messages -----------------------------------------------------------------------------

export const DataType = { FLOAT: 1, UINT8: 2, INT64: 7, BOOL: 9, FLOAT16: 10 } as const;
export type ElemType = (typeof DataType)[keyof typeof DataType];

/** A dimension: a fixed size, or a named symbolic size (dynamic axis). */
export type Dim = number | string;

export interface ValueInfo {
  name: string;
  elemType: ElemType;
  shape: Dim[];
}

export interface Initializer {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array;
}

export type AttributeValue =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: number[] }
  | { kind: 'floats'; value: number[] }
  | { kind: 'string'; value: string };

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, AttributeValue>;
}

export interface GraphSpec {
  name: string;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: Initializer[];
  nodes: NodeSpec[];
  opset?: number;
}

function valueInfo(v: ValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.shape) {
    const dim = new ProtoWriter();
    if (typeof d === 'number') dim.int(1, d);
    else dim.string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new ProtoWriter().int(1, v.elemType).message(2, shape);
  const type = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().string(1, v.name).message(2, type);
}

function tensor(t: Initializer): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.data instanceof Float32Array ? DataType.FLOAT : DataType.INT64);
  w.string(8, t.name);
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return w;
}

// AttributeProto.AttributeType values.
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_FLOATS = 6;
const ATTR_INTS = 7;

function attribute(name: string, a: AttributeValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  switch (a.kind) {
    case 'float':
      w.float(2, a.value).int(20, ATTR_FLOAT);
      break;
    case 'int':
      w.int(3, a.value).int(20, ATTR_INT);
      break;
    case 'string':
      w.string(4, a.value).int(20, ATTR_STRING);
      break;
    case 'floats':
      for (const f of a.value) w.float(7, f);
      w.int(20, ATTR_FLOATS);
      break;
    case 'ints':
      for (const i of a.value) w.int(8, i);
      w.int(20, ATTR_INTS);
      break;
  }
  return w;
}

/** Serialises a graph to ONNX ModelProto bytes (IR version 8, default-domain opset 17 unless given). */
export function encodeModel(g: GraphSpec): Uint8Array {
  const graph = new ProtoWriter();
  g.nodes.forEach((n, i) => {
    const node = new ProtoWriter();
    for (const inp of n.inputs) node.string(1, inp);
    for (const out of n.outputs) node.string(2, out);
    node.string(3, `${n.op}_${i}`);
    node.string(4, n.op);
    for (const [k, v] of Object.entries(n.attributes ?? {})) node.message(5, attribute(k, v));
    graph.message(1, node);
  });
  graph.string(2, g.name);
  for (const t of g.initializers) graph.message(5, tensor(t));
  for (const v of g.inputs) graph.message(11, valueInfo(v));
  for (const v of g.outputs) graph.message(12, valueInfo(v));
  const opset = new ProtoWriter().string(1, '').int(2, g.opset ?? 17);
  return new ProtoWriter().int(1, 8).string(2, 'saga-studio-tests').message(7, graph).message(8, opset).finish();
}

// Small helpers so graph definitions read compactly.
export const ints = (value: number[]): AttributeValue => ({ kind: 'ints', value });
export const int = (value: number): AttributeValue => ({ kind: 'int', value });
export const float = (value: number): AttributeValue => ({ kind: 'float', value });
export const str = (value: string): AttributeValue => ({ kind: 'string', value });
export const i64 = (name: string, values: number[], dims: number[] = [values.length]): Initializer => ({
  name,
  dims,
  data: BigInt64Array.from(values.map((v) => BigInt(v))),
});
export const f32 = (name: string, values: ArrayLike<number>, dims: number[]): Initializer => ({
  name,
  dims,
  data: Float32Array.from(values),
});
