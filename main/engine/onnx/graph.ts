/**
 * A small builder for ONNX graphs written as code: each method adds one node and returns the name
 * of its output, so a graph reads like the math it computes (see engine/train/step-graph.ts).
 * Default-domain operators of opset 17 only, so the standard onnxruntime CPU build runs it.
 */
import { DataType, encodeModel, float, int, ints, type AttributeValue, type Dim, type ElemType, type Initializer, type NodeSpec, type ValueInfo } from './model-writer.ts';

export type Value = string;

export class GraphBuilder {
  private readonly nodes: NodeSpec[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly initializers: Initializer[] = [];
  private next = 0;

  constructor(private readonly name: string) {}

  input(name: string, elemType: ElemType, shape: Dim[]): Value {
    this.inputs.push({ name, elemType, shape });
    return name;
  }

  output(value: Value, name: string, elemType: ElemType, shape: Dim[]): void {
    this.nodes.push({ op: 'Identity', inputs: [value], outputs: [name] });
    this.outputs.push({ name, elemType, shape });
  }

  /** A float32 constant (a scalar when `dims` is empty). */
  constant(values: number | number[], dims: number[] = []): Value {
    const name = this.fresh('const');
    this.initializers.push({ name, dims, data: Float32Array.from(typeof values === 'number' ? [values] : values) });
    return name;
  }

  /** An int64 constant vector (axes, shapes). */
  int64s(values: number[]): Value {
    const name = this.fresh('i64');
    this.initializers.push({ name, dims: [values.length], data: BigInt64Array.from(values.map((v) => BigInt(v))) });
    return name;
  }

  op(type: string, inputs: Value[], attributes?: Record<string, AttributeValue>): Value {
    const out = this.fresh(type.toLowerCase());
    this.nodes.push({ op: type, inputs, outputs: [out], ...(attributes ? { attributes } : {}) });
    return out;
  }

  // Arithmetic (numpy broadcasting, as ONNX defines it).
  add(a: Value, b: Value): Value { return this.op('Add', [a, b]); }
  sub(a: Value, b: Value): Value { return this.op('Sub', [a, b]); }
  mul(a: Value, b: Value): Value { return this.op('Mul', [a, b]); }
  div(a: Value, b: Value): Value { return this.op('Div', [a, b]); }
  matmul(a: Value, b: Value): Value { return this.op('MatMul', [a, b]); }
  /** a^T b without materialising the transpose (Gemm with transA). */
  matmulTA(a: Value, b: Value): Value { return this.op('Gemm', [a, b], { transA: int(1) }); }
  /** a b^T (Gemm with transB). */
  matmulTB(a: Value, b: Value): Value { return this.op('Gemm', [a, b], { transB: int(1) }); }
  transpose(a: Value): Value { return this.op('Transpose', [a], { perm: ints([1, 0]) }); }
  /** Sum over `axes`, keeping them as size-1 dimensions unless `keep` is false. */
  sum(a: Value, axes: number[], keep = true): Value { return this.op('ReduceSum', [a, this.int64s(axes)], { keepdims: int(keep ? 1 : 0) }); }
  mean(a: Value, axes: number[], keep = true): Value { return this.op('ReduceMean', [a], { axes: ints(axes), keepdims: int(keep ? 1 : 0) }); }
  /** Mean of every element, as a scalar. */
  meanAll(a: Value): Value { return this.op('ReduceMean', [a], { keepdims: int(0) }); }
  sqrt(a: Value): Value { return this.op('Sqrt', [a]); }
  reciprocal(a: Value): Value { return this.op('Reciprocal', [a]); }
  relu(a: Value): Value { return this.op('Relu', [a]); }
  sigmoid(a: Value): Value { return this.op('Sigmoid', [a]); }
  abs(a: Value): Value { return this.op('Abs', [a]); }
  exp(a: Value): Value { return this.op('Exp', [a]); }
  log(a: Value): Value { return this.op('Log', [a]); }
  neg(a: Value): Value { return this.op('Neg', [a]); }
  leakyRelu(a: Value, alpha: number): Value { return this.op('LeakyRelu', [a], { alpha: float(alpha) }); }
  greater(a: Value, b: Value): Value { return this.op('Greater', [a, b]); }
  where(condition: Value, a: Value, b: Value): Value { return this.op('Where', [condition, a, b]); }
  cast(a: Value, to: ElemType): Value { return this.op('Cast', [a], { to: int(to) }); }
  toFloat(a: Value): Value { return this.cast(a, DataType.FLOAT); }

  /** The graph as ONNX ModelProto bytes. */
  encode(): Uint8Array {
    return encodeModel({ name: this.name, inputs: this.inputs, outputs: this.outputs, initializers: this.initializers, nodes: this.nodes, opset: 17 });
  }

  private fresh(prefix: string): string {
    return `${prefix}_${this.next++}`;
  }
}
