/**
 * Scoring every Gaussian against the prompt's queries on WebAssembly SIMD (native-shaders/score.wat):
 * the highest cosine of each Gaussian's unit feature with the queries. Features are kept quantised
 * to int8 (32 bytes per Gaussian for 32 channels), so a million Gaussians score in a few
 * milliseconds on one CPU core; cosines come out within about 0.01 of the float ones. Scoring runs
 * on the CPU on every adapter: it reads each feature once, and a GPU would first have to receive
 * the queries and send back a score per Gaussian. Feature sizes other than 32 use the plain loop.
 */
import { SagaError } from '../../contract/errors.ts';
import type { ShaderSource } from '../raster/rasterizer.ts';
import { compileWat } from '../wasm/assemble.ts';
import { maxScores } from './saga.ts';

const DIM = 32;
const PAGE = 65536;
const QUANT = 127;

interface Kernels {
  maxDot(n: number, features: number, queries: number, q: number, out: number, scale: number): void;
  readAll(bytes: number, at: number): number;
}

export class ScoreKernel {
  private count = 0;
  private readonly featuresAt = 0;

  private constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly kernels: Kernels,
  ) {}

  static async create(loadShader: ShaderSource): Promise<ScoreKernel> {
    const module = await compileWat(loadShader, 'score.wat');
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
    const instance = await WebAssembly.instantiate(module, { env: { memory } });
    return new ScoreKernel(memory, instance.exports as unknown as Kernels);
  }

  /** Quantises unit features (count x 32) into the kernel's memory. */
  setFeatures(unit: Float32Array, dim: number): void {
    if (dim !== DIM) throw new SagaError('INTERNAL', `The SIMD scoring takes ${DIM}-channel features, not ${dim}.`);
    const count = unit.length / DIM;
    this.reserve(count * DIM + count * 4 + 64 * 64);
    const q = new Int8Array(this.memory.buffer, this.featuresAt, count * DIM);
    for (let i = 0; i < unit.length; i++) q[i] = Math.max(-QUANT, Math.min(QUANT, Math.round(unit[i]! * QUANT)));
    this.count = count;
  }

  /** The highest cosine of each Gaussian with any of the unit `queries` (q x 32); -Infinity without queries. */
  maxScores(queries: Float32Array): Float32Array {
    const q = queries.length / DIM;
    if (q === 0) return new Float32Array(this.count).fill(-Infinity);
    const queriesAt = this.count * DIM;
    const outAt = queriesAt + 64 * Math.max(64, q);
    this.reserve(outAt + this.count * 4);
    const qi = new Int16Array(this.memory.buffer, queriesAt, q * DIM);
    for (let i = 0; i < queries.length; i++) qi[i] = Math.round(queries[i]! * QUANT);
    this.kernels.maxDot(this.count, this.featuresAt, queriesAt, q, outAt, 1 / (QUANT * QUANT));
    return new Float32Array(this.memory.buffer, outAt, this.count).slice();
  }

  /** Reads `bytes` of memory once (the bench's yardstick). */
  readOnce(bytes: number): number {
    const size = Math.ceil(bytes / 32) * 32;
    this.reserve(size);
    return this.kernels.readAll(size, 0);
  }

  private reserve(bytes: number): void {
    const need = bytes - this.memory.buffer.byteLength;
    if (need > 0) this.memory.grow(Math.ceil(need / PAGE));
  }
}

/** Scores on the kernel when there is one and the features fit it, else the plain loop. */
export function scoreWith(kernel: ScoreKernel | undefined, unit: Float32Array, dim: number, queries: Float32Array): Float32Array {
  return kernel && dim === DIM ? kernel.maxScores(queries) : maxScores(unit, dim, queries);
}
