/**
 * The cached training step (feature forward, backward and Adam) in WebAssembly SIMD, for CPU
 * adapters. On Mesa lavapipe a WGSL gather pays about 9 cycles per 32-bit element read at a
 * per-lane address (measured: the 300k-Gaussian step took 160-190 ms however the gathers were laid
 * out); the same lists walked with 16-byte SIMD loads take a fraction of that. Projection, binning,
 * blending and the weight lists stay on WebGPU; GaussianRasterizer hands each prepared view's
 * per-pixel lists over once (see RasterizerOptions.training).
 *
 * Kernels: native-shaders/feature-gather.wat, assembled at start-up with wabt. With KernelHelpers
 * (threads sharing the memory, supplied by the host) forward and backward split each view's pixels
 * into ranges of equal work, and Adam its array. Features are kept in
 * blocks of 32 channels ([block][Gaussian][32], zero padded), like the GPU layout with GPI = 8.
 * Each view's lists are relabelled to a compact local numbering of the Gaussians it sees, so a
 * step first copies those rows out of the feature array, and scatters their gradients back after.
 */
import { SagaError } from '../../contract/errors.ts';
import type { ShaderSource } from './rasterizer.ts';
import { compileWat } from '../wasm/assemble.ts';

/** Channels per block: one 128-byte row, eight SIMD registers. */
const BLOCK = 32;
const ROW_BYTES = BLOCK * 4;
const PAGE = 65536;

interface Kernels {
  add(bytes: number, src: number, dst: number): void;
  forward(p: number, end: number, pick: number, offsets: number, entries: number, rows: number, out: number): void;
  backward(p: number, end: number, pick: number, offsets: number, entries: number, maps: number, rows: number): void;
  copyRows(count: number, index: number, src: number, dst: number, scatter: number): void;
  zeroRows(count: number, index: number, dst: number): void;
  adam(bytes: number, params: number, grads: number, m1: number, m2: number, lr: number, b1: number, b2: number, eps: number, c1: number, c2: number): void;
}

export type KernelName = 'forward' | 'backward' | 'adam';

/**
 * Other threads running the same kernels on the same shared memory (Node worker threads in the
 * engine worker: see main/host/kernel-threads.ts). Each helper runs one call at a time.
 */
export interface KernelHelpers {
  readonly count: number;
  /** Starts `kernel(...args)` on helper `helper`; returns at once. */
  start(helper: number, kernel: KernelName, args: number[]): void;
  /** Blocks until every started call has finished; throws if one failed. */
  waitAll(): void;
  close(): void;
}

/** Starts helpers for a compiled kernel module and its shared memory. */
export type KernelHelperFactory = (module: WebAssembly.Module, memory: WebAssembly.Memory) => Promise<KernelHelpers>;

/** A prepared view's lists in WebAssembly memory. */
export interface WasmView {
  readonly pixels: number;
  readonly contributions: number;
  /** Gaussians with at least one contribution (the view's local rows). */
  readonly visible: number;
}

interface ViewRegions extends WasmView {
  /** The scene size the view's Gaussian numbers refer to (a view of another scene is refused). */
  count: number;
  /** Pixel boundaries of the per-thread ranges, of about equal contributions. */
  splits: number[];
  offsets: Region;
  entries: Region;
  /** Local row -> Gaussian. */
  index: Region;
  released: boolean;
}

interface Region {
  at: number;
  bytes: number;
}

/**
 * First-fit allocation of 64-byte aligned regions in a growable WebAssembly memory. Freed regions
 * are merged with free neighbours; memory never shrinks (WebAssembly cannot), so released views
 * leave room for the next ones.
 */
class Arena {
  private free: Region[] = [];
  private top = 0;

  constructor(private readonly memory: WebAssembly.Memory) {}

  alloc(bytes: number): Region {
    const size = Math.max(64, Math.ceil(bytes / 64) * 64);
    const i = this.free.findIndex((r) => r.bytes >= size);
    if (i >= 0) {
      const r = this.free[i]!;
      const region = { at: r.at, bytes: size };
      if (r.bytes === size) this.free.splice(i, 1);
      else this.free[i] = { at: r.at + size, bytes: r.bytes - size };
      return region;
    }
    const at = this.top;
    const need = at + size - this.memory.buffer.byteLength;
    if (need > 0) {
      try {
        this.memory.grow(Math.ceil(need / PAGE));
      } catch (e) {
        throw new SagaError('TOO_LARGE', 'Out of memory for the training lists; train at a smaller size or with fewer views.', { bytes }, { cause: e });
      }
    }
    this.top = at + size;
    return { at, bytes: size };
  }

  release(region: Region): void {
    this.free.push({ ...region });
    this.free.sort((a, b) => a.at - b.at);
    const merged: Region[] = [];
    for (const r of this.free) {
      const last = merged[merged.length - 1];
      if (last && last.at + last.bytes === r.at) last.bytes += r.bytes;
      else merged.push({ ...r });
    }
    // A free region at the top goes back to the bump pointer.
    const end = merged[merged.length - 1];
    if (end && end.at + end.bytes === this.top) {
      this.top = end.at;
      merged.pop();
    }
    this.free = merged;
  }
}

export class WasmFeatureGather {
  private readonly memory: WebAssembly.Memory;
  private readonly kernels: Kernels;
  private readonly arena: Arena;
  private count = 0;
  private dim = 0;
  private features?: Region;
  private gradients?: Region;
  private moments?: [Region, Region];
  /** Gaussians whose gradient rows the last backward wrote (all other rows are zero). */
  private written?: { index: Region; count: number };
  private steps = 0;
  /** Per-step scratch: local feature rows, local gradient rows, one map (pixels x 32). */
  private scratch = new Map<string, Region>();
  private views = new Set<ViewRegions>();

  private readonly helpers?: KernelHelpers;

  private constructor(memory: WebAssembly.Memory, kernels: Kernels, helpers?: KernelHelpers) {
    this.memory = memory;
    this.kernels = kernels;
    this.arena = new Arena(memory);
    this.helpers = helpers;
  }

  /** Threads running the kernels (1 without helpers). */
  get threads(): number {
    return 1 + (this.helpers?.count ?? 0);
  }

  /**
   * Assembles native-shaders/feature-gather.wat (WebAssembly SIMD and threads must be available),
   * and starts helper threads with `helpers`.
   */
  static async create(loadShader: ShaderSource, options: { helpers?: KernelHelperFactory } = {}): Promise<WasmFeatureGather> {
    const module = await compileWat(loadShader, 'feature-gather.wat', { threads: true });
    // 65536 pages: all of wasm32's 4 GiB may be used; shared memory must declare its maximum.
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    let instance: WebAssembly.Instance;
    try {
      instance = await WebAssembly.instantiate(module, { env: { memory } });
    } catch (e) {
      throw new SagaError('INTERNAL', 'This runtime cannot run the WebAssembly SIMD training kernels; use a GPU adapter.', undefined, { cause: e });
    }
    const helpers = options.helpers ? await options.helpers(module, memory) : undefined;
    return new WasmFeatureGather(memory, instance.exports as unknown as Kernels, helpers && helpers.count > 0 ? helpers : undefined);
  }

  private get blocks(): number {
    return Math.ceil(this.dim / BLOCK);
  }

  private get blockBytes(): number {
    return this.count * ROW_BYTES;
  }

  /**
   * A new scene of `count` Gaussians: views of the previous one are refused from now on, and
   * features must be set again before a step.
   */
  setCount(count: number): void {
    if (count === this.count) return;
    this.releaseFeatures();
    this.count = count;
  }

  private releaseFeatures(): void {
    for (const r of [this.features, this.gradients]) if (r) this.arena.release(r);
    this.features = this.gradients = undefined;
    this.resetOptimizer();
    this.dim = 0;
  }

  /** Sets the features (count x dim, row-major) and forgets gradients and Adam moments. */
  setFeatures(features: Float32Array, count: number, dim: number): void {
    if (features.length !== count * dim) throw new SagaError('BAD_ARGUMENT', `Features must hold ${count} x ${dim} values, got ${features.length}.`);
    this.setCount(count);
    if (dim !== this.dim || !this.features) {
      this.releaseFeatures();
      this.dim = dim;
      this.features = this.arena.alloc(this.blocks * this.blockBytes);
      this.gradients = this.arena.alloc(this.blocks * this.blockBytes);
    }
    this.resetOptimizer();
    if (this.written) this.written.count = 0;
    this.f32().fill(0, this.gradients!.at / 4, this.gradients!.at / 4 + this.blocks * count * BLOCK);
    for (let b = 0; b < this.blocks; b++) {
      this.blockInto(features, count, b, { at: this.features!.at + b * this.blockBytes, bytes: this.blockBytes });
    }
  }

  readFeatures(): Float32Array {
    return this.unblock(this.requireFeatures());
  }

  /** The gradient of the last backward pass (count x dim). */
  readGradients(): Float32Array {
    this.requireFeatures();
    return this.unblock(this.gradients!);
  }

  /**
   * Takes a view's per-pixel lists: pixel p's contributions are entries[offsets[p]..offsets[p+1])
   * as (Gaussian, weight bits) pairs, front to back. The arrays are copied.
   */
  addView(pixels: number, offsets: Uint32Array, entries: Uint32Array): WasmView {
    if (offsets.length !== pixels + 1 || entries.length !== 2 * offsets[pixels]!) {
      throw new SagaError('INTERNAL', 'Malformed contribution lists.');
    }
    const contributions = offsets[pixels]!;
    // Local rows in order of first use, so rows used by neighbouring pixels sit together.
    const local = new Int32Array(this.count).fill(-1);
    const order: number[] = [];
    const relabelled = new Uint32Array(entries.length);
    for (let e = 0; e < contributions; e++) {
      const g = entries[2 * e]!;
      if (g >= this.count) throw new SagaError('INTERNAL', 'A contribution names a Gaussian outside the scene.');
      let row = local[g]!;
      if (row < 0) {
        row = order.length;
        local[g] = row;
        order.push(g);
      }
      relabelled[2 * e] = row;
      relabelled[2 * e + 1] = entries[2 * e + 1]!;
    }
    const splits = [0];
    for (let t = 1, p = 0; t < this.threads; t++) {
      const target = (contributions * t) / this.threads;
      while (p < pixels && offsets[p]! < target) p++;
      splits.push(p);
    }
    splits.push(pixels);
    const view: ViewRegions = {
      count: this.count, pixels, contributions, visible: order.length, splits,
      offsets: this.arena.alloc(offsets.byteLength),
      entries: this.arena.alloc(relabelled.byteLength),
      index: this.arena.alloc(order.length * 4),
      released: false,
    };
    const u32 = new Uint32Array(this.memory.buffer);
    u32.set(offsets, view.offsets.at / 4);
    u32.set(relabelled, view.entries.at / 4);
    u32.set(order, view.index.at / 4);
    this.views.add(view);
    return view;
  }

  releaseView(view: WasmView): void {
    const v = view as ViewRegions;
    if (v.released) return;
    v.released = true;
    this.views.delete(v);
    for (const r of [v.offsets, v.entries, v.index]) this.arena.release(r);
  }

  /**
   * The pixels a step visits: all of the view's (the precomputed thread splits), or a list of
   * sampled pixels copied into memory, split among the threads by their contributions.
   */
  private visit(v: ViewRegions, pixels?: Uint32Array): { n: number; pick: number; splits: number[] } {
    if (!pixels) return { n: v.pixels, pick: 0, splits: v.splits };
    // Allocate first: growing the memory makes earlier views of it too short.
    const pick = this.scratchRegion('pick', Math.max(4, pixels.byteLength));
    const u32 = new Uint32Array(this.memory.buffer);
    const offsets = v.offsets.at / 4;
    let total = 0;
    for (let j = 0; j < pixels.length; j++) {
      const q = pixels[j]!;
      if (q >= v.pixels) throw new SagaError('BAD_ARGUMENT', `Pixel ${q} is outside the ${v.pixels}-pixel view.`);
      total += u32[offsets + q + 1]! - u32[offsets + q]!;
    }
    u32.set(pixels, pick.at / 4);
    const splits = [0];
    for (let t = 1, j = 0, sum = 0; t < this.threads; t++) {
      const target = (total * t) / this.threads;
      while (j < pixels.length && sum < target) {
        sum += u32[offsets + pixels[j]! + 1]! - u32[offsets + pixels[j]!]!;
        j++;
      }
      splits.push(j);
    }
    splits.push(pixels.length);
    return { n: pixels.length, pick: pick.at, splits };
  }

  /**
   * The view's feature map (pixels x dim, row-major), or with `pixels` only those pixels' features
   * (one row per listed pixel: a training step needs the few thousand pixels it sampled).
   */
  forward(view: WasmView, pixels?: Uint32Array): Float32Array {
    const v = this.requireView(view);
    const features = this.requireFeatures();
    const { n, pick, splits } = this.visit(v, pixels);
    const rows = this.scratchRegion('rows', v.visible * ROW_BYTES);
    const map = this.scratchRegion('map', n * ROW_BYTES);
    const out = new Float32Array(n * this.dim);
    for (let b = 0; b < this.blocks; b++) {
      this.kernels.copyRows(v.visible, v.index.at, features.at + b * this.blockBytes, rows.at, 0);
      this.parallel((t) => ['forward', [splits[t]!, splits[t + 1]!, pick, v.offsets.at, v.entries.at, rows.at, map.at]]);
      this.unblockInto(map, n, b, out);
    }
    return out;
  }

  /**
   * Sets the gradient to dLoss/dFeatures for this view given dLoss/dFeatureMap (pixels x dim), or
   * with `pixels` the gradient at just those pixels (one row each; a pixel listed twice adds twice).
   */
  backward(view: WasmView, gradMap: Float32Array, pixels?: Uint32Array): void {
    const v = this.requireView(view);
    this.requireFeatures();
    const { n, pick, splits } = this.visit(v, pixels);
    if (gradMap.length !== n * this.dim) {
      throw new SagaError('BAD_ARGUMENT', `The feature-map gradient must hold ${n} x ${this.dim} values.`);
    }
    const rowBytes = v.visible * ROW_BYTES;
    // One row array per thread (their pixel ranges share Gaussians), summed in a fixed order.
    const rows = Array.from({ length: this.threads }, (_, t) => this.scratchRegion(`rows${t === 0 ? '' : t}`, rowBytes));
    const map = this.scratchRegion('map', n * ROW_BYTES);
    const grads = this.gradients!;
    const written = this.writtenRows(v.visible);
    try {
      for (let b = 0; b < this.blocks; b++) {
        const gradBlock = grads.at + b * this.blockBytes;
        this.kernels.zeroRows(written.count, written.index.at, gradBlock);
        this.blockInto(gradMap, n, b, map);
        const f32 = this.f32();
        for (const r of rows) f32.fill(0, r.at / 4, r.at / 4 + v.visible * BLOCK);
        this.parallel((t) => ['backward', [splits[t]!, splits[t + 1]!, pick, v.offsets.at, v.entries.at, map.at, rows[t]!.at]]);
        for (let t = 1; t < rows.length; t++) this.kernels.add(rowBytes, rows[t]!.at, rows[0]!.at);
        this.kernels.copyRows(v.visible, v.index.at, rows[0]!.at, gradBlock, 1);
      }
    } catch (e) {
      // Which rows hold what is unknown now: start the next backward from a clear gradient.
      this.f32().fill(0, grads.at / 4, grads.at / 4 + this.blocks * this.count * BLOCK);
      written.count = 0;
      throw e;
    }
    // Remember this view's rows: the next backward clears just those.
    new Uint32Array(this.memory.buffer).copyWithin(written.index.at / 4, v.index.at / 4, v.index.at / 4 + v.visible);
    written.count = v.visible;
  }

  /** The record of written gradient rows, with room for `capacity` of them (keeps its contents). */
  private writtenRows(capacity: number): { index: Region; count: number } {
    if (!this.written || this.written.index.bytes < capacity * 4) {
      const index = this.arena.alloc(capacity * 4);
      if (this.written) {
        new Uint32Array(this.memory.buffer).copyWithin(index.at / 4, this.written.index.at / 4, this.written.index.at / 4 + this.written.count);
        this.arena.release(this.written.index);
      }
      this.written = { index, count: this.written?.count ?? 0 };
    }
    return this.written;
  }

  /** One Adam step from the last backward's gradient; returns the step number. */
  adamStep(options: { lr: number; beta1?: number; beta2?: number; eps?: number }): number {
    const features = this.requireFeatures();
    const bytes = this.blocks * this.blockBytes;
    if (!this.moments) {
      this.moments = [this.arena.alloc(bytes), this.arena.alloc(bytes)];
      const f32 = this.f32();
      for (const m of this.moments) f32.fill(0, m.at / 4, m.at / 4 + bytes / 4);
      this.steps = 0;
    }
    const beta1 = options.beta1 ?? 0.9;
    const beta2 = options.beta2 ?? 0.999;
    const t = ++this.steps;
    // Elementwise: each thread takes a 16-byte aligned slice.
    const slice = Math.ceil(bytes / this.threads / 16) * 16;
    const [m1, m2] = this.moments;
    this.parallel((k) => {
      const from = Math.min(bytes, k * slice);
      const n = Math.min(bytes, from + slice) - from;
      return ['adam', [n, features.at + from, this.gradients!.at + from, m1.at + from, m2.at + from,
        options.lr, beta1, beta2, options.eps ?? 1e-15, 1 - beta1 ** t, 1 - beta2 ** t]];
    });
    return t;
  }

  /** Adam's moments (count x dim each; zeros before the first step) and its step count, for checkpoints. */
  readAdamState(): { m: Float32Array; v: Float32Array; step: number } {
    this.requireFeatures();
    if (!this.moments) return { m: new Float32Array(this.count * this.dim), v: new Float32Array(this.count * this.dim), step: 0 };
    return { m: this.unblock(this.moments[0]), v: this.unblock(this.moments[1]), step: this.steps };
  }

  /** Restores Adam's moments and step count (resuming from a checkpoint). */
  setAdamState(state: { m: Float32Array; v: Float32Array; step: number }): void {
    this.requireFeatures();
    const n = this.count * this.dim;
    if (state.m.length !== n || state.v.length !== n || !(Number.isInteger(state.step) && state.step >= 0)) {
      throw new SagaError('BAD_ARGUMENT', `Adam moments must hold ${this.count} x ${this.dim} values each and a whole step count.`);
    }
    this.resetOptimizer();
    if (state.step === 0) return;
    this.moments = [this.arena.alloc(this.blocks * this.blockBytes), this.arena.alloc(this.blocks * this.blockBytes)];
    for (const [values, region] of [[state.m, this.moments[0]], [state.v, this.moments[1]]] as const) {
      for (let b = 0; b < this.blocks; b++) this.blockInto(values, this.count, b, { at: region.at + b * this.blockBytes, bytes: this.blockBytes });
    }
    this.steps = state.step;
  }

  resetOptimizer(): void {
    if (this.moments) for (const m of this.moments) this.arena.release(m);
    this.moments = undefined;
    this.steps = 0;
  }

  /** Bytes of WebAssembly memory reserved (it grows, never shrinks). */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  destroy(): void {
    for (const v of [...this.views]) this.releaseView(v);
    this.helpers?.close();
  }

  /** Runs call(t) for every thread t: helpers take t >= 1 while this thread runs t = 0. */
  private parallel(call: (thread: number) => [KernelName, number[]]): void {
    const helpers = this.helpers;
    let error: unknown;
    try {
      if (helpers) for (let t = 1; t < this.threads; t++) helpers.start(t - 1, ...call(t));
      const [name, args] = call(0);
      (this.kernels[name] as (...a: number[]) => void)(...args);
    } catch (e) {
      error = e;
    }
    // Whatever happened here, no helper may still be writing when this returns.
    try {
      helpers?.waitAll();
    } catch (e) {
      error ??= e;
    }
    if (error !== undefined) throw error;
  }

  private f32(): Float32Array {
    // The buffer is replaced whenever the memory grows: never keep a view across allocations.
    return new Float32Array(this.memory.buffer);
  }

  private requireFeatures(): Region {
    if (!this.features) throw new SagaError('BAD_ARGUMENT', 'Set features before the training step.');
    return this.features;
  }

  private requireView(view: WasmView): ViewRegions {
    const v = view as ViewRegions;
    if (v.released || !this.views.has(v)) throw new SagaError('BAD_ARGUMENT', 'This view was released; prepare it again.');
    if (v.count !== this.count) throw new SagaError('BAD_ARGUMENT', 'This view was prepared for another scene; prepare it again.');
    return v;
  }

  private scratchRegion(name: string, bytes: number): Region {
    const r = this.scratch.get(name);
    if (r && r.bytes >= bytes) return r;
    if (r) this.arena.release(r);
    const region = this.arena.alloc(bytes);
    this.scratch.set(name, region);
    return region;
  }

  /** Block b of a (items x 32) region into out (items x dim). */
  private unblockInto(region: Region, items: number, b: number, out: Float32Array): void {
    const f32 = this.f32();
    const n = Math.min(BLOCK, this.dim - b * BLOCK);
    const base = region.at / 4;
    if (this.dim === BLOCK) {
      out.set(f32.subarray(base, base + items * BLOCK));
      return;
    }
    for (let i = 0; i < items; i++) out.set(f32.subarray(base + i * BLOCK, base + i * BLOCK + n), i * this.dim + b * BLOCK);
  }

  /** Channels of block b of values (items x dim) into a (items x 32) region, zero padded. */
  private blockInto(values: Float32Array, items: number, b: number, region: Region): void {
    const f32 = this.f32();
    const base = region.at / 4;
    if (this.dim === BLOCK) {
      f32.set(values, base);
      return;
    }
    const n = Math.min(BLOCK, this.dim - b * BLOCK);
    f32.fill(0, base, base + items * BLOCK);
    for (let i = 0; i < items; i++) f32.set(values.subarray(i * this.dim + b * BLOCK, i * this.dim + b * BLOCK + n), base + i * BLOCK);
  }

  private unblock(region: Region): Float32Array {
    const out = new Float32Array(this.count * this.dim);
    for (let b = 0; b < this.blocks; b++) {
      this.unblockInto({ at: region.at + b * this.blockBytes, bytes: this.blockBytes }, this.count, b, out);
    }
    return out;
  }
}
