/**
 * The WebGPU Gaussian rasterizer. Works on an injected GPUDevice (Dawn in a Node worker, or
 * Chromium's navigator.gpu), so it never creates devices itself. The math matches reference.ts.
 *
 * Pipeline per view: project (per scene chunk) -> tile binning -> per-tile blend.
 * Binning has two implementations giving the same order (tile, depth, Gaussian index):
 *  - 'gpu': CPU prefix sum of tiles touched, duplicate (tile, depth, Gaussian) keys, bitonic sort,
 *    per-tile ranges (for real GPUs);
 *  - 'cpu': read the projected Gaussians back, one radix sort by depth and a counting fill per
 *    tile (tile-sort.ts). On CPU adapters (lavapipe, SwiftShader) this is several times faster.
 * Training path: prepareView() additionally collects every (pixel, Gaussian, weight) contribution
 * into per-pixel lists and their transpose (per-Gaussian lists), so a training step's feature
 * forward and backward are two gathers with no re-blending (geometry is frozen in SAGA), and
 * adamStep() updates the GPU-resident features from the GPU-resident gradient. The gathers read
 * their values (features forward, feature-map gradient backward) from rgba32float textures: on
 * lavapipe a storage load at a per-lane address costs one load per channel and lane, a texel
 * fetch one per lane for 4 channels (RasterizerOptions.textures). On CPU adapters the engine
 * instead hands the per-pixel lists to WebAssembly SIMD kernels (wasm-gather.ts, option
 * `wasmTraining`), several times faster than any WGSL layout measured on lavapipe.
 *
 * Buffers bigger than the device's maxStorageBufferBindingSize are avoided by splitting: the scene
 * is uploaded in chunks, features are stored in blocks of channel groups (toBlocked), sorted tile
 * entries are bound per window of tile rows, and contribution lists are split into bands of rows.
 */
import { SagaError } from '../../contract/errors.ts';
import type { Camera } from '../../scene/camera.ts';
import { shRestPerChannel, type GaussianScene } from '../../scene/gaussians.ts';
import { scaleCamera, TILE_SIZE, type RenderOptions, type RenderOutput } from './reference.ts';
import { binTilesOnCpu } from './tile-sort.ts';
import type { WasmFeatureGather, WasmView } from './wasm-gather.ts';

/** Reads a WGSL file of native-shaders/ by name (e.g. 'project.wgsl'): fs in Node, fetch in a page. */
export type ShaderSource = (name: string) => Promise<string>;

const GAUSSIAN_FLOATS = 14;
const WG = 256;
const MAX_GROUPS = 65535;

interface SceneChunk {
  first: number;
  count: number;
  gaussians: GPUBuffer;
  shRest: GPUBuffer;
}

interface Band {
  /** First pixel and end pixel of the band (whole tile rows). */
  start: number;
  end: number;
  entries: number;
  pixelOffsets: GPUBuffer;
  pixelEntries: GPUBuffer;
  gaussianOffsets: GPUBuffer;
  gaussianEntries: GPUBuffer;
  /** Gaussians with contributions in this band, longest lists first; and how many. */
  activeOrder: GPUBuffer;
  active: number;
}

/** A view prepared for repeated feature forward/backward passes (blending weights cached on the GPU). */
export interface PreparedView {
  readonly camera: Camera;
  readonly width: number;
  readonly height: number;
  /** Total (pixel, Gaussian) contributions cached. */
  readonly contributions: number;
  /** Colour, alpha and depth of the view (computed while preparing). */
  readonly image: RenderOutput;
  destroy(): void;
}

interface PreparedViewInternal extends PreparedView {
  /** GPU lists (training 'gpu'), or none when the lists live in WebAssembly memory (`wasm`). */
  bands: Band[];
  wasm?: WasmView;
  pixelsPadded: number;
  destroyed: boolean;
}

interface Pipelines {
  project: GPUComputePipeline;
  duplicate: GPUComputePipeline;
  padKeys: GPUComputePipeline;
  tileRanges: GPUComputePipeline;
  extractIds: GPUComputePipeline;
  adamStep: GPUComputePipeline;
  sortGlobal: GPUComputePipeline;
  sortLocal: GPUComputePipeline;
  sortLayout: GPUBindGroupLayout;
  rasterize: GPUComputePipeline;
  collect: GPUComputePipeline;
  /** features.wgsl and rasterize-features.wgsl with GPI still to substitute. */
  featuresSource: string;
  rasterizeFeaturesSource: string;
}

interface FeaturePipelines {
  rasterizeFeatures: GPUComputePipeline;
  gather: GPUComputePipeline;
  gatherOrdered: GPUComputePipeline;
  gatherChannels: GPUComputePipeline;
  gatherOrderedTexture: GPUComputePipeline;
  gatherTexture: GPUComputePipeline;
  transpose: GPUComputePipeline;
}

/** Texels per row of the value textures (TEX_WIDTH in features.wgsl; within WebGPU's default 8192 limit). */
const TEX_WIDTH = 8192;

export interface RasterizerOptions {
  /**
   * Caps the bytes bound per storage buffer below the device limit, so tests can exercise the
   * scene chunking and list banding that large scenes need.
   */
  maxBindingBytes?: number;
  /**
   * Where tile entries are sorted: 'gpu' (bitonic sort in WGSL) or 'cpu' (radix sort in the host,
   * much faster on CPU WebGPU implementations). Default: 'cpu' when the adapter is a CPU
   * implementation (see isCpuAdapter), else 'gpu'.
   */
  sort?: 'gpu' | 'cpu';
  /**
   * Cached-path gathers: one invocation per item summing all its channels ('items', default), or
   * one per (item, channel) ('channels': no divergence between lists of different lengths).
   */
  gather?: 'items' | 'channels';
  /**
   * Cached-path gathers read features (forward) and the feature-map gradient (backward) from
   * rgba32float textures instead of storage buffers (default true; faster on lavapipe, where a
   * texel fetch loads 4 channels per lane at once). Same sums in the same order either way.
   */
  textures?: boolean;
  /**
   * Runs the cached training step (prepared views' feature forward/backward and Adam) on
   * WebAssembly SIMD kernels instead of WGSL gathers; each prepared view's per-pixel lists are read
   * back once. Hosts pass this for CPU adapters (isCpuAdapter), where it is several times faster.
   * Called at the first prepareView (start-up takes a few hundred ms and most engines never train);
   * undefined means the kernels are unavailable and the WGSL gathers are used. The rasterizer owns
   * the kernels from then on (destroy() closes them).
   */
  wasmTraining?: () => Promise<WasmFeatureGather | undefined>;
}

/** True for software adapters (Mesa lavapipe/llvmpipe, SwiftShader), from GPUAdapterInfo text. */
export function isCpuAdapter(info: { vendor: string; architecture: string; device: string; description: string }): boolean {
  return /llvmpipe|lavapipe|swiftshader|software/i.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`);
}

/** Per-step timings (ms) of the last call, for the benchmark. */
export interface RasterTimings {
  [stage: string]: number;
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** Workgroup counts (x, y) for `groups` workgroups within the per-dimension limit. */
function grid(groups: number): [number, number] {
  if (groups <= MAX_GROUPS) return [Math.max(1, groups), 1];
  return [MAX_GROUPS, Math.ceil(groups / MAX_GROUPS)];
}

export class GaussianRasterizer {
  readonly device: GPUDevice;
  private readonly pipelines: Pipelines;
  private readonly maxBinding: number;
  readonly sortOn: 'gpu' | 'cpu';
  gatherMode: 'items' | 'channels';
  /** See RasterizerOptions.textures. */
  useTextures: boolean;
  /** Where the cached training step runs (see RasterizerOptions.wasmTraining). */
  trainingOn: 'gpu' | 'wasm';
  private wasm?: WasmFeatureGather;
  private wasmStart?: () => Promise<WasmFeatureGather | undefined>;
  private wasmStarting?: Promise<WasmFeatureGather | undefined>;
  /** The GPU feature buffer is older than the WebAssembly features (after a wasm Adam step). */
  private gpuFeaturesStale = false;
  private chunks: SceneChunk[] = [];
  private count = 0;
  private countPadded = 0;
  private shDegree = 0;
  private restPer = 0;
  private projMean?: GPUBuffer;
  private projConic?: GPUBuffer;
  private projColor?: GPUBuffer;
  private tilesTouched?: GPUBuffer;
  private featureDim = 0;
  private featureGroups = 0;
  /** vec4 groups per item in one block of the feature layout (8 = 32 channels, row-major). */
  private gpi = 1;
  private featurePipelines = new Map<number, Promise<FeaturePipelines>>();
  private features?: GPUBuffer;
  private gradients?: GPUBuffer;
  private moments?: [GPUBuffer, GPUBuffer];
  private adamSteps = 0;
  /** The texture copy of `features` read by the forward gather is out of date. */
  private featureTextureStale = true;
  private pool = new Map<string, GPUBuffer>();
  private texturePool = new Map<string, GPUTexture>();
  /** Small per-call uniform buffers, destroyed once the call's GPU work has been awaited. */
  private transient: GPUBuffer[] = [];
  /** Timings of the last render/prepareView/forward/backward, in milliseconds. */
  timings: RasterTimings = {};
  private binTimings: RasterTimings = {};

  private constructor(device: GPUDevice, pipelines: Pipelines, options: RasterizerOptions) {
    this.device = device;
    this.pipelines = pipelines;
    this.maxBinding = Math.min(device.limits.maxStorageBufferBindingSize, options.maxBindingBytes ?? Infinity);
    this.sortOn = options.sort ?? 'gpu';
    this.gatherMode = options.gather ?? 'items';
    this.useTextures = options.textures ?? true;
    this.wasmStart = options.wasmTraining;
    this.trainingOn = this.wasmStart ? 'wasm' : 'gpu';
  }

  static async create(device: GPUDevice, loadShader: ShaderSource, options: RasterizerOptions = {}): Promise<GaussianRasterizer> {
    const [project, duplicate, sort, blend, rasterizeOwn, features, rasterizeFeaturesOwn, adam] = await Promise.all(
      ['project.wgsl', 'duplicate.wgsl', 'sort.wgsl', 'blend.wgsl', 'rasterize.wgsl', 'features.wgsl', 'rasterize-features.wgsl', 'adam.wgsl'].map(loadShader),
    );
    // WGSL has no includes: both blends get the one definition of the per-Gaussian alpha.
    const rasterize = `${blend!}\n${rasterizeOwn!}`;
    const rasterizeFeatures = `${blend!}\n${rasterizeFeaturesOwn!}`;
    device.pushErrorScope('validation');
    const module = (code: string, label: string) => device.createShaderModule({ code, label });
    const mProject = module(project!, 'project');
    const mDuplicate = module(duplicate!, 'duplicate');
    const mSort = module(sort!, 'sort');
    const mRaster = module(rasterize, 'rasterize');
    const auto = (m: GPUShaderModule, entryPoint: string) =>
      device.createComputePipelineAsync({ layout: 'auto', compute: { module: m, entryPoint }, label: entryPoint });
    const sortLayout = device.createBindGroupLayout({
      entries: [
        { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true, minBindingSize: 16 } },
        { binding: 1, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'storage' } },
      ],
    });
    const sortPipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [sortLayout] });
    const sortPipeline = (entryPoint: string) =>
      device.createComputePipelineAsync({ layout: sortPipelineLayout, compute: { module: mSort, entryPoint }, label: entryPoint });
    const [p0, p1, p2, p3, p4, p5, p6, p7, p8, p9] = await Promise.all([
      auto(mProject, 'project'),
      auto(mDuplicate, 'duplicate'),
      auto(mDuplicate, 'padKeys'),
      auto(mDuplicate, 'tileRanges'),
      sortPipeline('globalStep'),
      sortPipeline('localSteps'),
      auto(mRaster, 'rasterize'),
      auto(mRaster, 'collect'),
      auto(mDuplicate, 'extractIds'),
      auto(module(adam!, 'adam'), 'adamStep'),
    ]);
    const error = await device.popErrorScope();
    if (error) throw new SagaError('GPU_ERROR', `The rasterizer shaders failed to compile: ${error.message}`);
    return new GaussianRasterizer(device, {
      project: p0, duplicate: p1, padKeys: p2, tileRanges: p3, extractIds: p8!, adamStep: p9!, sortGlobal: p4, sortLocal: p5,
      rasterize: p6, collect: p7, featuresSource: features!, rasterizeFeaturesSource: rasterizeFeatures, sortLayout,
    }, options);
  }

  get gaussianCount(): number {
    return this.count;
  }

  /** Uploads the scene once (geometry, opacity, SH); replaces any previous scene and features. */
  loadScene(scene: GaussianScene): void {
    this.releaseScene();
    const n = scene.count;
    if (n === 0) throw new SagaError('EMPTY_SCENE', 'The scene has no Gaussians to render.');
    this.count = n;
    this.countPadded = align(n, 16);
    if (this.countPadded * 16 > this.maxBinding) {
      throw new SagaError(
        'TOO_LARGE',
        `The scene has ${n} Gaussians; this GPU renders at most ${Math.floor(this.maxBinding / 16)}. Decimate the scene first.`,
      );
    }
    this.shDegree = scene.shDegree;
    this.restPer = shRestPerChannel(scene.shDegree);
    this.wasm?.setCount(n);
    const bytesPerGaussian = Math.max(GAUSSIAN_FLOATS * 4, 3 * this.restPer * 4);
    const chunkSize = Math.max(WG, Math.floor(this.maxBinding / bytesPerGaussian / WG) * WG);
    for (let first = 0; first < n; first += chunkSize) {
      const count = Math.min(chunkSize, n - first);
      const packed = new Float32Array(count * GAUSSIAN_FLOATS);
      for (let k = 0; k < count; k++) {
        const i = first + k;
        const o = k * GAUSSIAN_FLOATS;
        packed[o] = scene.positions[3 * i]!;
        packed[o + 1] = scene.positions[3 * i + 1]!;
        packed[o + 2] = scene.positions[3 * i + 2]!;
        packed[o + 3] = scene.scales[3 * i]!;
        packed[o + 4] = scene.scales[3 * i + 1]!;
        packed[o + 5] = scene.scales[3 * i + 2]!;
        packed[o + 6] = scene.rotations[4 * i]!;
        packed[o + 7] = scene.rotations[4 * i + 1]!;
        packed[o + 8] = scene.rotations[4 * i + 2]!;
        packed[o + 9] = scene.rotations[4 * i + 3]!;
        packed[o + 10] = scene.opacities[i]!;
        packed[o + 11] = scene.sh0[3 * i]!;
        packed[o + 12] = scene.sh0[3 * i + 1]!;
        packed[o + 13] = scene.sh0[3 * i + 2]!;
      }
      const gaussians = this.createBuffer(packed.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, 'gaussians');
      this.device.queue.writeBuffer(gaussians, 0, packed);
      const restFloats = count * 3 * this.restPer;
      const shRest = this.createBuffer(Math.max(16, restFloats * 4), GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, 'shRest');
      if (restFloats > 0) {
        this.device.queue.writeBuffer(shRest, 0, scene.shRest.slice(first * 3 * this.restPer, first * 3 * this.restPer + restFloats));
      }
      this.chunks.push({ first, count, gaussians, shRest });
    }
    const perGaussian = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    this.projMean = this.createBuffer(this.countPadded * 16, perGaussian, 'projMean');
    this.projConic = this.createBuffer(this.countPadded * 16, perGaussian, 'projConic');
    this.projColor = this.createBuffer(this.countPadded * 16, perGaussian, 'projColor');
    this.tilesTouched = this.createBuffer(this.countPadded * 4, perGaussian, 'tilesTouched');
  }

  /**
   * Uploads per-Gaussian features (N * dim, row-major). They stay on the GPU for render() and the
   * training path until replaced.
   */
  setFeatures(features: Float32Array, dim: number): void {
    this.requireScene();
    if (!(dim > 0) || features.length !== this.count * dim) {
      throw new SagaError('BAD_ARGUMENT', `Features must hold ${this.count} x ${dim} values, got ${features.length}.`);
    }
    const groups = Math.ceil(dim / 4);
    if (groups !== this.featureGroups || !this.features) {
      this.features?.destroy();
      this.gradients?.destroy();
      this.featureGroups = groups;
      let gpi = Math.min(8, nextPow2(groups));
      while (gpi > 1 && this.countPadded * gpi * 16 > this.maxBinding) gpi /= 2;
      this.gpi = gpi;
      const size = this.blocks * this.countPadded * gpi * 16;
      this.features = this.createBuffer(size, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC, 'features');
      this.gradients = this.createBuffer(size, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC, 'gradients');
    }
    this.featureDim = dim;
    this.featureTextureStale = true;
    // New features start a new optimisation (adamStep's contract), whatever their size: no
    // moments and no gradient.
    this.releaseMoments();
    const clear = this.device.createCommandEncoder();
    clear.clearBuffer(this.gradients!);
    this.device.queue.submit([clear.finish()]);
    this.device.queue.writeBuffer(this.features, 0, toBlocked(features, this.count, dim, this.countPadded, this.gpi));
    this.wasm?.setFeatures(features, this.count, dim);
    this.gpuFeaturesStale = false;
  }

  /**
   * Starts the WebAssembly kernels on first use and gives them the scene size and the current
   * features; falls back to the WGSL gathers if they are unavailable.
   */
  private startWasmTraining(): Promise<WasmFeatureGather | undefined> {
    const start = this.wasmStart;
    if (this.wasm || !start) return Promise.resolve(this.wasm);
    this.wasmStarting ??= (async () => {
      const wasm = await start();
      this.wasmStart = undefined;
      if (!wasm) {
        this.trainingOn = 'gpu';
        return undefined;
      }
      wasm.setCount(this.count);
      if (this.features) {
        wasm.setFeatures(await this.readGpuFeatures(this.features), this.count, this.featureDim);
        // Optimiser state restored before the kernels started moves over with the features.
        if (this.moments) wasm.setAdamState({ m: await this.readGpuFeatures(this.moments[0]), v: await this.readGpuFeatures(this.moments[1]), step: this.adamSteps });
      }
      this.wasm = wasm;
      return wasm;
    })().finally(() => {
      this.wasmStarting = undefined;
    });
    return this.wasmStarting;
  }

  /** Brings the GPU feature buffer up to date with the WebAssembly features after wasm Adam steps. */
  private syncGpuFeatures(): void {
    if (!this.gpuFeaturesStale || !this.wasm || !this.features) return;
    this.device.queue.writeBuffer(this.features, 0, toBlocked(this.wasm.readFeatures(), this.count, this.featureDim, this.countPadded, this.gpi));
    this.featureTextureStale = true;
    this.gpuFeaturesStale = false;
  }

  /** Renders colour, alpha, depth and, with options.features (or features set earlier and featureDim), a feature map. */
  render(camera: Camera, options: RenderOptions = {}): Promise<RenderOutput> {
    return this.withTransients(() => this.renderNow(camera, options));
  }

  private async renderNow(camera: Camera, options: RenderOptions): Promise<RenderOutput> {
    this.requireScene();
    if (options.features) this.setFeatures(options.features, options.featureDim ?? options.features.length / this.count);
    const wantFeatures = options.features !== undefined || (options.featureDim !== undefined && options.featureDim > 0);
    if (wantFeatures && !this.features) throw new SagaError('BAD_ARGUMENT', 'No features were given to render.');
    if (wantFeatures) this.syncGpuFeatures();
    const t0 = performance.now();
    const cam = scaleCamera(camera, options.width, options.height);
    const binned = await this.binView(cam, options);
    const t1 = performance.now();
    const image = await this.blendColor(cam, binned, options.background ?? [0, 0, 0]);
    const t2 = performance.now();
    if (wantFeatures) {
      image.features = await this.blendFeatures(cam, binned);
    }
    this.timings = { bin: t1 - t0, ...this.binTimings, color: t2 - t1, features: performance.now() - t2, idWindows: binned.windows.length };
    return image;
  }

  /**
   * Prepares a view for training: bins, blends colour, and caches every contribution so that
   * forwardFeatures/backwardFeatures on this view only redo the feature gathers.
   */
  prepareView(camera: Camera, options: Pick<RenderOptions, 'width' | 'height' | 'background' | 'shDegree'> = {}): Promise<PreparedView> {
    return this.withTransients(() => this.prepareViewNow(camera, options));
  }

  private async prepareViewNow(camera: Camera, options: Pick<RenderOptions, 'width' | 'height' | 'background' | 'shDegree'>): Promise<PreparedView> {
    this.requireScene();
    await this.startWasmTraining();
    const t0 = performance.now();
    const cam = scaleCamera(camera, options.width, options.height);
    const binned = await this.binView(cam, options);
    const t1 = performance.now();
    const image = await this.blendColor(cam, binned, options.background ?? [0, 0, 0]);
    const t2 = performance.now();
    const counts = image.counts;
    delete (image as Partial<ColorImage>).counts;
    const { width, height } = cam;
    const pixels = width * height;
    // Bands of whole tile rows whose lists fit in one binding (8 bytes per contribution).
    const rowPixels = TILE_SIZE * width;
    const maxEntries = Math.floor(this.maxBinding / 8);
    const bandRanges: [number, number, number][] = [];
    let bandStart = 0;
    let bandEntries = 0;
    for (let row = 0; row * rowPixels < pixels; row++) {
      const start = row * rowPixels;
      const end = Math.min(pixels, start + rowPixels);
      let rowEntries = 0;
      for (let p = start; p < end; p++) rowEntries += counts[p]!;
      if (rowEntries > maxEntries) {
        throw new SagaError('TOO_LARGE', `A row of tiles has ${rowEntries} contributions, more than this GPU can hold; use a smaller width.`);
      }
      if (bandEntries + rowEntries > maxEntries && bandStart < start) {
        bandRanges.push([bandStart, start, bandEntries]);
        bandStart = start;
        bandEntries = 0;
      }
      bandEntries += rowEntries;
    }
    bandRanges.push([bandStart, pixels, bandEntries]);

    const bands: Band[] = [];
    /** Training 'wasm': each band's lists, read back (offsets relative to the band). */
    const cpuBands: { start: number; offsets: Uint32Array; entries: Uint32Array }[] = [];
    const { transpose } = await this.featurePipeline(1);
    const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
    for (const [start, end, entries] of bandRanges) {
      const n = end - start;
      const pixelOffsetsCpu = new Uint32Array(n + 1);
      for (let p = 0; p < n; p++) pixelOffsetsCpu[p + 1] = pixelOffsetsCpu[p]! + counts[start + p]!;
      const pixelOffsets = this.createBuffer(pixelOffsetsCpu.byteLength, storage, 'pixelOffsets');
      this.device.queue.writeBuffer(pixelOffsets, 0, pixelOffsetsCpu);
      const pixelEntries = this.createBuffer(Math.max(16, entries * 8), storage, 'pixelEntries');
      const gaussianCounts = this.pooled('gaussianCounts', this.countPadded * 4, storage);
      const encoder = this.device.createCommandEncoder();
      encoder.clearBuffer(gaussianCounts, 0, this.countPadded * 4);
      const pass = encoder.beginComputePass();
      pass.setPipeline(this.pipelines.collect);
      const bandFirstRow = Math.floor(start / rowPixels);
      const bandEndRow = Math.ceil(end / rowPixels);
      for (const w of binned.windows) {
        const firstRow = Math.max(w.firstRow, bandFirstRow);
        const endRow = Math.min(w.firstRow + w.rows, bandEndRow);
        if (endRow <= firstRow) continue;
        const bandParams = this.uniform(new Uint32Array([width, height, binned.tilesX, binned.tilesY, start, end, 0, 0, w.base, firstRow, 0, 0]));
        pass.setBindGroup(0, this.device.createBindGroup({
          layout: this.pipelines.collect.getBindGroupLayout(0),
          entries: [
            { binding: 0, resource: { buffer: bandParams } },
            { binding: 1, resource: { buffer: binned.ranges } },
            { binding: 2, resource: { buffer: binned.ids, offset: w.base * 4, size: w.size } },
            { binding: 3, resource: { buffer: this.projMean! } },
            { binding: 4, resource: { buffer: this.projConic! } },
            { binding: 9, resource: { buffer: pixelOffsets } },
            { binding: 10, resource: { buffer: pixelEntries } },
            { binding: 11, resource: { buffer: gaussianCounts, size: this.countPadded * 4 } },
          ],
        }));
        pass.dispatchWorkgroups(binned.tilesX, endRow - firstRow);
      }
      pass.end();
      this.device.queue.submit([encoder.finish()]);
      if (this.wasm) {
        const entriesCpu = entries > 0 ? new Uint32Array(await this.readBuffer(pixelEntries, entries * 8)) : new Uint32Array(0);
        cpuBands.push({ start, offsets: pixelOffsetsCpu, entries: entriesCpu });
        pixelOffsets.destroy();
        pixelEntries.destroy();
        continue;
      }
      const gaussianCountsCpu = new Uint32Array(await this.readBuffer(gaussianCounts, this.count * 4));
      const gaussianOffsetsCpu = new Uint32Array(this.count + 1);
      for (let g = 0; g < this.count; g++) gaussianOffsetsCpu[g + 1] = gaussianOffsetsCpu[g]! + gaussianCountsCpu[g]!;
      // Active Gaussians by descending list length (counting sort on the length, capped).
      const maxLen = 4096;
      const byLength = new Uint32Array(maxLen + 2);
      let active = 0;
      for (let g = 0; g < this.count; g++) {
        const c = gaussianCountsCpu[g]!;
        if (c > 0) {
          byLength[maxLen + 1 - Math.min(c, maxLen)]!++;
          active++;
        }
      }
      for (let l = 0, sum = 0; l < byLength.length; l++) {
        const c = byLength[l]!;
        byLength[l] = sum;
        sum += c;
      }
      const activeOrderCpu = new Uint32Array(Math.max(1, active));
      for (let g = 0; g < this.count; g++) {
        const c = gaussianCountsCpu[g]!;
        if (c > 0) activeOrderCpu[byLength[maxLen + 1 - Math.min(c, maxLen)]!++] = g;
      }
      const activeOrder = this.createBuffer(activeOrderCpu.byteLength, storage, 'activeOrder');
      this.device.queue.writeBuffer(activeOrder, 0, activeOrderCpu);
      const gaussianOffsets = this.createBuffer(gaussianOffsetsCpu.byteLength, storage, 'gaussianOffsets');
      this.device.queue.writeBuffer(gaussianOffsets, 0, gaussianOffsetsCpu);
      const cursors = this.pooled('cursors', this.countPadded * 4, storage);
      this.device.queue.writeBuffer(cursors, 0, gaussianOffsetsCpu, 0, this.count);
      const gaussianEntries = this.createBuffer(Math.max(16, entries * 8), storage, 'gaussianEntries');
      const [gx, gy] = grid(Math.ceil(n / 64));
      const enc2 = this.device.createCommandEncoder();
      const pass2 = enc2.beginComputePass();
      pass2.setPipeline(transpose);
      pass2.setBindGroup(0, this.bindGroup(transpose, [
        this.uniform(new Uint32Array([n, gx * 64, 0, 0])), undefined, undefined, undefined, undefined,
        pixelOffsets, pixelEntries, cursors, gaussianEntries,
      ], { 7: this.countPadded * 4 }));
      pass2.dispatchWorkgroups(gx, gy);
      pass2.end();
      this.device.queue.submit([enc2.finish()]);
      bands.push({ start, end, entries, pixelOffsets, pixelEntries, gaussianOffsets, gaussianEntries, activeOrder, active });
    }
    await this.device.queue.onSubmittedWorkDone();
    let wasmView: WasmView | undefined;
    if (this.wasm) {
      // One list for the whole image: band offsets rebased onto the concatenated entries.
      const total = cpuBands.reduce((sum, b) => sum + b.entries.length / 2, 0);
      const offsets = new Uint32Array(pixels + 1);
      const all = new Uint32Array(2 * total);
      let at = 0;
      for (const b of cpuBands) {
        const n = b.offsets.length - 1;
        for (let p = 1; p <= n; p++) offsets[b.start + p] = at + b.offsets[p]!;
        all.set(b.entries, 2 * at);
        at += b.entries.length / 2;
      }
      wasmView = this.wasm.addView(pixels, offsets, all);
    }
    this.timings = { bin: t1 - t0, ...this.binTimings, color: t2 - t1, collect: performance.now() - t2 };
    const contributions = wasmView ? wasmView.contributions : bands.reduce((s, b) => s + b.entries, 0);
    const wasm = this.wasm;
    const view: PreparedViewInternal = {
      camera: cam, width, height, contributions, image, bands, wasm: wasmView,
      pixelsPadded: align(pixels, 16),
      destroyed: false,
      destroy() {
        if (this.destroyed) return;
        this.destroyed = true;
        if (this.wasm) wasm?.releaseView(this.wasm);
        for (const b of this.bands) {
          b.pixelOffsets.destroy(); b.pixelEntries.destroy(); b.gaussianOffsets.destroy(); b.gaussianEntries.destroy();
          b.activeOrder.destroy();
        }
      },
    };
    return view;
  }

  /**
   * The feature map (H * W * featureDim) of a prepared view from the features on the GPU
   * (pass `features` to upload new ones first).
   */
  forwardFeatures(view: PreparedView, features?: Float32Array, pixels?: Uint32Array): Promise<Float32Array> {
    return this.withTransients(async () => {
      const v = this.requireView(view);
      if (pixels && v.wasm) {
        if (features) this.setFeatures(features, this.featureDim || features.length / this.count);
        if (!this.features) throw new SagaError('BAD_ARGUMENT', 'Set features before rendering a feature map.');
        return this.wasm!.forward(v.wasm, pixels);
      }
      const map = await this.forwardFeaturesNow(view, features);
      return pixels ? pickRows(map, pixels, this.featureDim, v.width * v.height) : map;
    });
  }

  private async forwardFeaturesNow(view: PreparedView, features?: Float32Array): Promise<Float32Array> {
    const v = this.requireView(view);
    if (features) this.setFeatures(features, this.featureDim || features.length / this.count);
    if (!this.features) throw new SagaError('BAD_ARGUMENT', 'Set features before rendering a feature map.');
    if (v.wasm) return this.wasm!.forward(v.wasm);
    const gpi = this.gpi;
    const pipelines = await this.featurePipeline(gpi);
    const perChannel = this.gatherMode === 'channels';
    // Features are read from their texture copy when it fits (faster on CPU adapters, see
    // gatherOrderedTexture); the copy is refreshed here only after the features changed.
    const texels = this.blocks * this.countPadded * gpi;
    const rows = Math.ceil(texels / TEX_WIDTH);
    const useTexture = this.useTextures && !perChannel && rows <= this.device.limits.maxTextureDimension2D;
    const gatherPipeline = perChannel ? pipelines.gatherChannels : useTexture ? pipelines.gatherTexture : pipelines.gather;
    const [valuesBinding, resultBinding, lanes] = perChannel ? [9, 10, gpi * 4] : [3, 4, 1];
    const out = this.pooled('featureMap', this.blocks * v.pixelsPadded * gpi * 16, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
    const encoder = this.device.createCommandEncoder();
    let featureTexture: GPUTexture | undefined;
    if (useTexture) {
      const existing = this.texturePool.get('features');
      featureTexture = this.pooledTexture('features', rows);
      // A new or regrown texture holds nothing yet.
      if (featureTexture !== existing) this.featureTextureStale = true;
      this.refreshFeatureTexture(encoder, featureTexture, texels);
    }
    const pass = encoder.beginComputePass();
    pass.setPipeline(gatherPipeline);
    for (const band of v.bands) {
      const n = band.end - band.start;
      const [gx, gy] = grid(Math.ceil((n * lanes) / 64));
      for (let b = 0; b < this.blocks; b++) {
        // count.w: first texel of block b in the feature texture.
        const params = this.uniform(new Uint32Array([n, gx * 64, 0, b * this.countPadded * gpi]));
        const valuesEntry: GPUBindGroupEntry = featureTexture
          ? { binding: 15, resource: featureTexture.createView() }
          : { binding: valuesBinding, resource: { buffer: this.features, offset: b * this.countPadded * gpi * 16, size: this.countPadded * gpi * 16 } };
        pass.setBindGroup(0, this.device.createBindGroup({
          layout: gatherPipeline.getBindGroupLayout(0),
          entries: [
            { binding: 0, resource: { buffer: params } },
            { binding: 1, resource: { buffer: band.pixelOffsets } },
            { binding: 2, resource: { buffer: band.pixelEntries } },
            valuesEntry,
            { binding: resultBinding, resource: { buffer: out, offset: (b * v.pixelsPadded + band.start) * gpi * 16, size: align(n, 16) * gpi * 16 } },
          ],
        }));
        pass.dispatchWorkgroups(gx, gy);
      }
    }
    pass.end();
    this.device.queue.submit([encoder.finish()]);
    const packed = new Float32Array(await this.readBuffer(out, this.blocks * v.pixelsPadded * gpi * 16));
    return fromBlocked(packed, v.width * v.height, this.featureDim, v.pixelsPadded, gpi);
  }

  /**
   * dLoss/dFeatures (N * featureDim) for a prepared view given dLoss/dFeatureMap (H * W * featureDim).
   * With `keepOnGpu`, the gradient stays in the engine (the GPU gradient buffer, or WebAssembly
   * memory with training 'wasm') for adamStep, and an empty array is returned.
   */
  backwardFeatures(view: PreparedView, gradFeatureMap: Float32Array, options: { keepOnGpu?: boolean; pixels?: Uint32Array } = {}): Promise<Float32Array> {
    return this.withTransients(async () => {
      const v = this.requireView(view);
      const { pixels } = options;
      if (!pixels) return this.backwardFeaturesNow(view, gradFeatureMap, options);
      if (v.wasm) {
        if (!this.features) throw new SagaError('BAD_ARGUMENT', 'Set features before the backward pass.');
        this.wasm!.backward(v.wasm, gradFeatureMap, pixels);
        return options.keepOnGpu ? new Float32Array(0) : this.wasm!.readGradients();
      }
      // The WGSL gathers take whole maps: spread the sampled pixels' gradients into one.
      const C = this.featureDim;
      if (gradFeatureMap.length !== pixels.length * C) throw new SagaError('BAD_ARGUMENT', `The gradient must hold ${pixels.length} x ${C} values, one row per listed pixel.`);
      const full = new Float32Array(v.width * v.height * C);
      for (let j = 0; j < pixels.length; j++) {
        const at = pixels[j]! * C;
        if (!(pixels[j]! < v.width * v.height)) throw new SagaError('BAD_ARGUMENT', `Pixel ${pixels[j]} is outside the ${v.width}x${v.height} view.`);
        for (let c = 0; c < C; c++) full[at + c]! += gradFeatureMap[j * C + c]!;
      }
      return this.backwardFeaturesNow(view, full, options);
    });
  }

  private async backwardFeaturesNow(view: PreparedView, gradFeatureMap: Float32Array, options: { keepOnGpu?: boolean }): Promise<Float32Array> {
    const v = this.requireView(view);
    if (!this.features || !this.gradients) throw new SagaError('BAD_ARGUMENT', 'Set features before the backward pass.');
    const C = this.featureDim;
    if (gradFeatureMap.length !== v.width * v.height * C) {
      throw new SagaError('BAD_ARGUMENT', `The feature-map gradient must hold ${v.height} x ${v.width} x ${C} values.`);
    }
    if (v.wasm) {
      this.wasm!.backward(v.wasm, gradFeatureMap);
      return options.keepOnGpu ? new Float32Array(0) : this.wasm!.readGradients();
    }
    const gpi = this.gpi;
    const pipelines = await this.featurePipeline(gpi);
    const perChannel = this.gatherMode === 'channels';
    const gatherPipeline = perChannel ? pipelines.gatherChannels : pipelines.gather;
    const [valuesBinding, resultBinding, lanes] = perChannel ? [9, 10, gpi * 4] : [3, 4, 1];
    const ordered = !perChannel;
    // The feature-map gradient goes to a texture when it fits (faster gathers on CPU adapters,
    // see gatherOrderedTexture), else to a storage buffer.
    const texels = this.blocks * v.pixelsPadded * gpi;
    const rows = Math.ceil(texels / TEX_WIDTH);
    const useTexture = this.useTextures && ordered && rows <= this.device.limits.maxTextureDimension2D;
    const blocked = toBlocked(gradFeatureMap, v.width * v.height, C, v.pixelsPadded, gpi);
    let gradMap: GPUBuffer | undefined;
    let gradTexture: GPUTexture | undefined;
    if (useTexture) {
      gradTexture = this.pooledTexture('gradMap', rows);
      const full = new Float32Array(rows * TEX_WIDTH * 4);
      full.set(blocked);
      this.device.queue.writeTexture({ texture: gradTexture }, full, { bytesPerRow: TEX_WIDTH * 16, rowsPerImage: rows }, [TEX_WIDTH, rows]);
    } else {
      gradMap = this.pooled('gradMap', this.blocks * v.pixelsPadded * gpi * 16, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
      this.device.queue.writeBuffer(gradMap, 0, blocked);
    }
    const encoder = this.device.createCommandEncoder();
    // The ordered gather only visits Gaussians with contributions and always accumulates.
    if (ordered) encoder.clearBuffer(this.gradients, 0, this.blocks * this.countPadded * gpi * 16);
    const pipeline = useTexture ? pipelines.gatherOrderedTexture : ordered ? pipelines.gatherOrdered : gatherPipeline;
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    v.bands.forEach((band, bandIndex) => {
      const items = ordered ? band.active : this.count;
      const [gx, gy] = grid(Math.ceil((items * lanes) / 64));
      // Bands after the first add onto the gradient (dispatches run in order: no atomics needed).
      const n = band.end - band.start;
      for (let b = 0; b < this.blocks; b++) {
        // count.w: first texel of this band and block in the gradient texture.
        const params = this.uniform(new Uint32Array([items, gx * 64, bandIndex > 0 ? 1 : 0, (b * v.pixelsPadded + band.start) * gpi]));
        const orderEntry: GPUBindGroupEntry[] = ordered ? [{ binding: 11, resource: { buffer: band.activeOrder } }] : [];
        const valuesEntry: GPUBindGroupEntry = gradTexture
          ? { binding: 15, resource: gradTexture.createView() }
          : { binding: valuesBinding, resource: { buffer: gradMap!, offset: (b * v.pixelsPadded + band.start) * gpi * 16, size: align(n, 16) * gpi * 16 } };
        pass.setBindGroup(0, this.device.createBindGroup({
          layout: pipeline.getBindGroupLayout(0),
          entries: [
            ...orderEntry,
            { binding: 0, resource: { buffer: params } },
            { binding: 1, resource: { buffer: band.gaussianOffsets } },
            { binding: 2, resource: { buffer: band.gaussianEntries } },
            valuesEntry,
            { binding: resultBinding, resource: { buffer: this.gradients!, offset: b * this.countPadded * gpi * 16, size: this.countPadded * gpi * 16 } },
          ],
        }));
        pass.dispatchWorkgroups(gx, gy);
      }
    });
    pass.end();
    this.device.queue.submit([encoder.finish()]);
    if (options.keepOnGpu) {
      await this.device.queue.onSubmittedWorkDone();
      return new Float32Array(0);
    }
    const packed = new Float32Array(await this.readBuffer(this.gradients, this.blocks * this.countPadded * gpi * 16));
    return fromBlocked(packed, this.count, C, this.countPadded, gpi);
  }

  /**
   * One Adam step on the features from the gradient of the last backwardFeatures (keepOnGpu or
   * not), on the GPU: the training loop then never uploads features or reads gradients back.
   * Moments start at zero after setFeatures; `resetOptimizer` restarts them.
   */
  adamStep(options: { lr: number; beta1?: number; beta2?: number; eps?: number }): Promise<number> {
    return this.withTransients(async () => {
      if (!this.features || !this.gradients) throw new SagaError('BAD_ARGUMENT', 'Set features and run a backward pass before an optimiser step.');
      if (this.wasm) {
        const step = this.wasm.adamStep(options);
        this.gpuFeaturesStale = true;
        return step;
      }
      const size = this.blocks * this.countPadded * this.gpi * 16;
      if (!this.moments) {
        const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
        this.moments = [this.createBuffer(size, usage, 'adamM'), this.createBuffer(size, usage, 'adamV')];
        this.adamSteps = 0;
      }
      const beta1 = options.beta1 ?? 0.9;
      const beta2 = options.beta2 ?? 0.999;
      const t = ++this.adamSteps;
      const groups = size / 16; // adam.wgsl works on vec4 groups (size is a multiple of 16 bytes)
      const [gx, gy] = grid(Math.ceil(groups / WG));
      const data = new ArrayBuffer(32);
      new Float32Array(data).set([options.lr, beta1, beta2, options.eps ?? 1e-15, 1 - beta1 ** t, 1 - beta2 ** t]);
      new Uint32Array(data).set([groups, gx * WG], 6);
      const params = this.uniform(new Float32Array(data));
      const encoder = this.device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(this.pipelines.adamStep);
      pass.setBindGroup(0, this.bindGroup(this.pipelines.adamStep, [params, this.features, this.gradients, this.moments[0], this.moments[1]]));
      pass.dispatchWorkgroups(gx, gy);
      pass.end();
      this.device.queue.submit([encoder.finish()]);
      this.featureTextureStale = true;
      await this.device.queue.onSubmittedWorkDone();
      return t;
    });
  }

  /** Adam's moments (N * featureDim each, zeros before the first step) and step count, for checkpoints. */
  readAdamState(): Promise<{ m: Float32Array; v: Float32Array; step: number }> {
    return this.withTransients(async () => {
      if (!this.features) throw new SagaError('BAD_ARGUMENT', 'No features are set.');
      if (this.wasm) return this.wasm.readAdamState();
      if (!this.moments) {
        const n = this.count * this.featureDim;
        return { m: new Float32Array(n), v: new Float32Array(n), step: 0 };
      }
      return { m: await this.readGpuFeatures(this.moments[0]), v: await this.readGpuFeatures(this.moments[1]), step: this.adamSteps };
    });
  }

  /** Restores Adam's moments and step count (resuming from a checkpoint); call after setFeatures. */
  async setAdamState(state: { m: Float32Array; v: Float32Array; step: number }): Promise<void> {
    if (!this.features) throw new SagaError('BAD_ARGUMENT', 'Set features before restoring their optimiser state.');
    const n = this.count * this.featureDim;
    if (state.m.length !== n || state.v.length !== n || !(Number.isInteger(state.step) && state.step >= 0)) {
      throw new SagaError('BAD_ARGUMENT', `Adam moments must hold ${this.count} x ${this.featureDim} values each and a whole step count.`);
    }
    if (this.wasm) {
      this.wasm.setAdamState(state);
      return;
    }
    this.releaseMoments();
    if (state.step === 0) return;
    const size = this.blocks * this.countPadded * this.gpi * 16;
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
    this.moments = [this.createBuffer(size, usage, 'adamM'), this.createBuffer(size, usage, 'adamV')];
    this.device.queue.writeBuffer(this.moments[0], 0, toBlocked(state.m, this.count, this.featureDim, this.countPadded, this.gpi));
    this.device.queue.writeBuffer(this.moments[1], 0, toBlocked(state.v, this.count, this.featureDim, this.countPadded, this.gpi));
    this.adamSteps = state.step;
  }

  /** Forgets the Adam moments (the next adamStep starts from step 1). */
  resetOptimizer(): void {
    this.releaseMoments();
    this.wasm?.resetOptimizer();
  }

  /** The current features (N * featureDim, row-major), e.g. after training steps. */
  readFeatures(): Promise<Float32Array> {
    return this.withTransients(async () => {
      if (!this.features) throw new SagaError('BAD_ARGUMENT', 'No features are set.');
      if (this.wasm) return this.wasm.readFeatures();
      return this.readGpuFeatures(this.features);
    });
  }

  /** The GPU feature buffer as N * featureDim row-major values. */
  private async readGpuFeatures(features: GPUBuffer): Promise<Float32Array> {
    const packed = new Float32Array(await this.readBuffer(features, this.blocks * this.countPadded * this.gpi * 16));
    return fromBlocked(packed, this.count, this.featureDim, this.countPadded, this.gpi);
  }

  private releaseMoments(): void {
    this.moments?.[0].destroy();
    this.moments?.[1].destroy();
    this.moments = undefined;
    this.adamSteps = 0;
  }

  /** Blocks of the feature layout (see toBlocked). */
  private get blocks(): number {
    return Math.ceil(this.featureGroups / this.gpi);
  }

  private featurePipeline(gpi: number): Promise<FeaturePipelines> {
    let p = this.featurePipelines.get(gpi);
    if (!p) {
      const module = this.device.createShaderModule({ code: this.pipelines.featuresSource.replaceAll('__GPI__', String(gpi)), label: `features-${gpi}` });
      const make = (entryPoint: string) =>
        this.device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint }, label: `${entryPoint}-${gpi}` });
      const rasterModule = this.device.createShaderModule({
        code: this.pipelines.rasterizeFeaturesSource.replaceAll('__GPI__', String(gpi)),
        label: `rasterize-features-${gpi}`,
      });
      const rasterizeFeatures = this.device.createComputePipelineAsync({
        layout: 'auto',
        compute: { module: rasterModule, entryPoint: 'rasterizeFeatures' },
        label: `rasterizeFeatures-${gpi}`,
      });
      p = Promise.all([
        make('gather'), make('gatherChannels'), make('transpose'), make('gatherOrdered'), make('gatherOrderedTexture'), make('gatherTexture'), rasterizeFeatures,
      ]).then(([gather, gatherChannels, transpose, gatherOrdered, gatherOrderedTexture, gatherTexture, rasterizeFeatures]) => ({
        gatherTexture,
        rasterizeFeatures,
        gather,
        gatherOrdered,
        gatherChannels,
        gatherOrderedTexture,
        transpose,
      }));
      this.featurePipelines.set(gpi, p);
    }
    return p;
  }

  /**
   * Encodes a copy of the feature buffer into its texture (rows of TEX_WIDTH texels) if it is out
   * of date. Full rows in one copy, the partial last row in a second.
   */
  private refreshFeatureTexture(encoder: GPUCommandEncoder, texture: GPUTexture, texels: number): void {
    if (!this.featureTextureStale || !this.features) return;
    const fullRows = Math.floor(texels / TEX_WIDTH);
    const rest = texels - fullRows * TEX_WIDTH;
    if (fullRows > 0) {
      encoder.copyBufferToTexture({ buffer: this.features, bytesPerRow: TEX_WIDTH * 16 }, { texture }, [TEX_WIDTH, fullRows]);
    }
    if (rest > 0) {
      encoder.copyBufferToTexture(
        { buffer: this.features, offset: fullRows * TEX_WIDTH * 16, bytesPerRow: TEX_WIDTH * 16 },
        { texture, origin: [0, fullRows] },
        [rest, 1],
      );
    }
    this.featureTextureStale = false;
  }

  destroy(): void {
    this.releaseScene();
    for (const b of this.pool.values()) b.destroy();
    this.pool.clear();
    for (const t of this.texturePool.values()) t.destroy();
    this.texturePool.clear();
    this.wasm?.destroy();
  }

  // ---------------------------------------------------------------------------------------------

  private releaseScene(): void {
    for (const c of this.chunks) {
      c.gaussians.destroy();
      c.shRest.destroy();
    }
    this.chunks = [];
    for (const b of [this.projMean, this.projConic, this.projColor, this.tilesTouched, this.features, this.gradients]) b?.destroy();
    this.projMean = this.projConic = this.projColor = this.tilesTouched = this.features = this.gradients = undefined;
    this.releaseMoments();
    this.featureGroups = 0;
    this.featureDim = 0;
    this.count = 0;
  }

  private requireScene(): void {
    if (this.count === 0 || !this.projMean) throw new SagaError('BAD_ARGUMENT', 'Load a scene before rendering.');
  }

  private requireView(view: PreparedView): PreparedViewInternal {
    const v = view as PreparedViewInternal;
    if (!Array.isArray(v.bands) || v.destroyed) throw new SagaError('BAD_ARGUMENT', 'The prepared view was destroyed or is not from this rasterizer.');
    return v;
  }

  private createBuffer(size: number, usage: number, label: string): GPUBuffer {
    return this.device.createBuffer({ size: align(Math.max(size, 16), 16), usage, label });
  }

  /** A reusable buffer of at least `size` bytes (grown on demand). */
  private pooled(name: string, size: number, usage: number): GPUBuffer {
    const existing = this.pool.get(name);
    if (existing && existing.size >= size && existing.usage === usage) return existing;
    existing?.destroy();
    const buffer = this.createBuffer(Math.max(size, (existing?.size ?? 0) * 1.25), usage, name);
    this.pool.set(name, buffer);
    return buffer;
  }

  /** A reusable rgba32float texture TEX_WIDTH wide with at least `rows` rows (grown on demand). */
  private pooledTexture(name: string, rows: number): GPUTexture {
    const existing = this.texturePool.get(name);
    if (existing && existing.height >= rows) return existing;
    existing?.destroy();
    const texture = this.device.createTexture({
      size: [TEX_WIDTH, Math.max(rows, existing?.height ?? 0)],
      format: 'rgba32float',
      usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST,
      label: name,
    });
    this.texturePool.set(name, texture);
    return texture;
  }

  private uniform(data: Uint32Array<ArrayBuffer> | Float32Array<ArrayBuffer>): GPUBuffer {
    const buffer = this.device.createBuffer({ size: align(data.byteLength, 16), usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.device.queue.writeBuffer(buffer, 0, data);
    this.transient.push(buffer);
    return buffer;
  }

  /** Runs a public call and frees its uniform buffers afterwards (its GPU work is awaited inside). */
  private async withTransients<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } finally {
      for (const b of this.transient) b.destroy();
      this.transient = [];
    }
  }

  private bindGroup(pipeline: GPUComputePipeline, buffers: (GPUBuffer | undefined)[], sizes: Record<number, number> = {}): GPUBindGroup {
    const entries: GPUBindGroupEntry[] = [];
    buffers.forEach((buffer, binding) => {
      if (buffer) entries.push({ binding, resource: sizes[binding] ? { buffer, size: sizes[binding] } : { buffer } });
    });
    return this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
  }

  private async readBuffer(source: GPUBuffer, size: number): Promise<ArrayBuffer> {
    const staging = this.pooled(`staging`, size, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(source, 0, staging, 0, align(size, 4));
    this.device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ, 0, align(size, 4));
    const copy = staging.getMappedRange(0, align(size, 4)).slice(0, size);
    staging.unmap();
    return copy;
  }

  /** Project, count, duplicate, sort and range the Gaussians of one view. */
  private async binView(cam: Camera, options: RenderOptions): Promise<Binned> {
    const { width, height } = cam;
    if (!(width > 0 && height > 0 && width <= 16384 && height <= 16384)) {
      throw new SagaError('BAD_ARGUMENT', `Output size ${width}x${height} is out of range (1 to 16384 pixels per side).`);
    }
    const tilesX = Math.ceil(width / TILE_SIZE);
    const tilesY = Math.ceil(height / TILE_SIZE);
    const R = cam.rotation;
    const t = cam.translation;
    const eye = [
      -(R[0]! * t[0]! + R[3]! * t[1]! + R[6]! * t[2]!),
      -(R[1]! * t[0]! + R[4]! * t[1]! + R[7]! * t[2]!),
      -(R[2]! * t[0]! + R[5]! * t[1]! + R[8]! * t[2]!),
    ];
    const degree = Math.max(0, Math.min(this.shDegree, Math.floor(options.shDegree ?? this.shDegree)));
    const encoder = this.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(this.pipelines.project);
    for (const chunk of this.chunks) {
      const data = new ArrayBuffer(112);
      const f = new Float32Array(data);
      const u = new Uint32Array(data);
      f.set([R[0]!, R[1]!, R[2]!, t[0]!, R[3]!, R[4]!, R[5]!, t[1]!, R[6]!, R[7]!, R[8]!, t[2]!], 0);
      f.set([cam.fx, cam.fy, cam.cx, cam.cy, eye[0]!, eye[1]!, eye[2]!, 0], 12);
      u.set([width, height, tilesX, tilesY, chunk.first, chunk.count, degree, this.restPer], 20);
      const params = this.uniform(f);
      pass.setBindGroup(0, this.bindGroup(this.pipelines.project, [
        params, chunk.gaussians, chunk.shRest, this.projMean!, this.projConic!, this.projColor!, this.tilesTouched!,
      ]));
      const [gx, gy] = grid(Math.ceil(chunk.count / WG));
      pass.dispatchWorkgroups(gx, gy);
    }
    pass.end();
    this.device.queue.submit([encoder.finish()]);
    const touched = new Uint32Array(await this.readBuffer(this.tilesTouched!, this.count * 4));
    const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
    const ranges = this.pooled('ranges', tilesX * tilesY * 8, storage);
    if (this.sortOn === 'cpu') {
      // CPU binning: one depth sort of the visible Gaussians, then per-tile lists (4 bytes per entry).
      const t0 = performance.now();
      const mean = new Float32Array(await this.readBuffer(this.projMean!, this.count * 16));
      const conic = new Float32Array(await this.readBuffer(this.projConic!, this.count * 16));
      const t1 = performance.now();
      const yieldFn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
      const binned = await binTilesOnCpu(mean, conic, touched, tilesX, tilesY, yieldFn);
      this.binTimings = { readback: t1 - t0, cpuBinning: performance.now() - t1 };
      // 16 bytes of slack past the last entry keep every window's binding inside the buffer.
      const idsSize = align(binned.total * 4, 16) + 256;
      const windows = idWindows(binned.ranges, tilesX, tilesY, this.maxBinding);
      const ids = this.pooled('sortedIds', idsSize, storage);
      if (binned.total > 0) this.device.queue.writeBuffer(ids, 0, binned.ids, 0, binned.total);
      this.device.queue.writeBuffer(ranges, 0, binned.ranges);
      return { tilesX, tilesY, ids, idsSize, ranges, total: binned.total, windows };
    }
    // GPU binning: prefix sum of tiles touched (CPU: the total is needed here anyway), duplicate
    // (tile, depth, Gaussian) keys, bitonic sort, per-tile ranges, then the Gaussian ids.
    const offsets = new Uint32Array(this.count);
    let total = 0;
    for (let i = 0; i < this.count; i++) {
      offsets[i] = total;
      total += touched[i]!;
    }
    const sortLength = Math.max(512, nextPow2(total));
    const keysSize = sortLength * 16;
    if (keysSize > this.maxBinding) {
      throw new SagaError('TOO_LARGE', `This view needs ${total} tile entries, more than this GPU can sort at once; render smaller.`);
    }
    const offsetsBuffer = this.pooled('offsets', this.countPadded * 4, storage);
    this.device.queue.writeBuffer(offsetsBuffer, 0, offsets);
    const keys = this.pooled('keys', keysSize, storage);
    const idsSize = align(Math.max(1, total) * 4, 16);
    const ids = this.pooled('sortedIds', idsSize, storage);
    const params = this.uniform(new Uint32Array([width, height, tilesX, tilesY, this.count, total, 0, 0]));
    const enc = this.device.createCommandEncoder();
    enc.clearBuffer(ranges, 0, align(tilesX * tilesY * 8, 4));
    let p = enc.beginComputePass();
    p.setPipeline(this.pipelines.duplicate);
    p.setBindGroup(0, this.bindGroup(this.pipelines.duplicate, [
      params, this.projMean!, this.projConic!, this.tilesTouched!, offsetsBuffer, keys,
    ], { 5: keysSize }));
    let [gx, gy] = grid(Math.ceil(this.count / WG));
    p.dispatchWorkgroups(gx, gy);
    p.setPipeline(this.pipelines.padKeys);
    p.setBindGroup(0, this.bindGroup(this.pipelines.padKeys, [params, undefined, undefined, undefined, undefined, keys], { 5: keysSize }));
    [gx, gy] = grid(Math.ceil((sortLength - total) / WG));
    p.dispatchWorkgroups(gx, gy);
    p.end();
    this.encodeSort(enc, keys, sortLength);
    p = enc.beginComputePass();
    p.setPipeline(this.pipelines.tileRanges);
    p.setBindGroup(0, this.bindGroup(this.pipelines.tileRanges, [
      params, undefined, undefined, undefined, undefined, keys, ranges,
    ], { 5: keysSize }));
    [gx, gy] = grid(Math.ceil(Math.max(1, total) / WG));
    p.dispatchWorkgroups(gx, gy);
    p.setPipeline(this.pipelines.extractIds);
    p.setBindGroup(0, this.bindGroup(this.pipelines.extractIds, [
      params, undefined, undefined, undefined, undefined, keys, undefined, ids,
    ], { 5: keysSize, 7: idsSize }));
    p.dispatchWorkgroups(gx, gy);
    p.end();
    this.device.queue.submit([enc.finish()]);
    return { tilesX, tilesY, ids, idsSize, ranges, total, windows: [{ firstRow: 0, rows: tilesY, base: 0, size: idsSize }] };
  }

  private encodeSort(encoder: GPUCommandEncoder, keys: GPUBuffer, n: number): void {
    const steps: [number, number][] = [[0, 0]];
    for (let k = 1024; k <= n; k *= 2) {
      for (let j = k / 2; j >= 512; j /= 2) steps.push([k, j]);
      steps.push([k, 0]);
    }
    const stride = 256;
    const data = new Uint32Array((steps.length * stride) / 4);
    const [gx, gy] = grid(n / 2 / WG);
    steps.forEach(([k, j], s) => data.set([k, j, gx * WG, 0], (s * stride) / 4));
    const params = this.uniform(data);
    const group = this.device.createBindGroup({
      layout: this.pipelines.sortLayout,
      entries: [
        { binding: 0, resource: { buffer: params, size: 16 } },
        { binding: 1, resource: { buffer: keys, size: n * 16 } },
      ],
    });
    const [lx, ly] = grid(n / 512);
    const pass = encoder.beginComputePass();
    steps.forEach(([k, j], s) => {
      const local = j === 0;
      pass.setPipeline(local ? this.pipelines.sortLocal : this.pipelines.sortGlobal);
      pass.setBindGroup(0, group, [s * stride]);
      if (local) pass.dispatchWorkgroups(lx, ly);
      else pass.dispatchWorkgroups(gx, gy);
      void k;
    });
    pass.end();
  }

  private async blendColor(cam: Camera, binned: Binned, background: [number, number, number]): Promise<ColorImage> {
    const { width, height } = cam;
    const pixels = width * height;
    const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC;
    const outPayload = this.pooled('outPayload', pixels * 16, storage);
    const outT = this.pooled('outT', pixels * 4, storage);
    const outCount = this.pooled('outCount', pixels * 4, storage);
    const enc = this.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(this.pipelines.rasterize);
    for (const w of binned.windows) {
      const params = this.uniform(new Uint32Array([width, height, binned.tilesX, binned.tilesY, 0, pixels, 1, 0, w.base, w.firstRow, 0, 0]));
      pass.setBindGroup(0, this.device.createBindGroup({
        layout: this.pipelines.rasterize.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: params } },
          { binding: 1, resource: { buffer: binned.ranges } },
          { binding: 2, resource: { buffer: binned.ids, offset: w.base * 4, size: w.size } },
          { binding: 3, resource: { buffer: this.projMean! } },
          { binding: 4, resource: { buffer: this.projConic! } },
          { binding: 5, resource: { buffer: this.projColor! } },
          { binding: 6, resource: { buffer: outPayload } },
          { binding: 7, resource: { buffer: outT } },
          { binding: 8, resource: { buffer: outCount } },
        ],
      }));
      pass.dispatchWorkgroups(binned.tilesX, w.rows);
    }
    pass.end();
    this.device.queue.submit([enc.finish()]);
    const payload = new Float32Array(await this.readBuffer(outPayload, pixels * 16));
    const T = new Float32Array(await this.readBuffer(outT, pixels * 4));
    const counts = new Uint32Array(await this.readBuffer(outCount, pixels * 4));
    const color = new Float32Array(pixels * 3);
    const alpha = new Float32Array(pixels);
    const depth = new Float32Array(pixels);
    for (let p = 0; p < pixels; p++) {
      const tp = T[p]!;
      color[3 * p] = payload[4 * p]! + tp * background[0];
      color[3 * p + 1] = payload[4 * p + 1]! + tp * background[1];
      color[3 * p + 2] = payload[4 * p + 2]! + tp * background[2];
      depth[p] = payload[4 * p + 3]!;
      alpha[p] = 1 - tp;
    }
    return { width, height, color, alpha, depth, counts };
  }

  private async blendFeatures(cam: Camera, binned: Binned): Promise<Float32Array> {
    const { width, height } = cam;
    const pixels = width * height;
    const pixelsPadded = align(pixels, 16);
    const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC;
    const gpi = this.gpi;
    const out = this.pooled('featureOut', this.blocks * pixelsPadded * gpi * 16, storage);
    const { rasterizeFeatures } = await this.featurePipeline(gpi);
    const enc = this.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(rasterizeFeatures);
    // One pass per block of GPI channel groups (one pass in all for 32 channels) and id window.
    for (let b = 0; b < this.blocks; b++) for (const w of binned.windows) {
      const params = this.uniform(new Uint32Array([width, height, binned.tilesX, binned.tilesY, 0, 0, 0, 0, w.base, w.firstRow, 0, 0]));
      pass.setBindGroup(0, this.device.createBindGroup({
        layout: rasterizeFeatures.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: params } },
          { binding: 1, resource: { buffer: binned.ranges } },
          { binding: 2, resource: { buffer: binned.ids, offset: w.base * 4, size: w.size } },
          { binding: 3, resource: { buffer: this.projMean! } },
          { binding: 4, resource: { buffer: this.projConic! } },
          { binding: 5, resource: { buffer: this.features!, offset: b * this.countPadded * gpi * 16, size: this.countPadded * gpi * 16 } },
          { binding: 6, resource: { buffer: out, offset: b * pixelsPadded * gpi * 16, size: pixelsPadded * gpi * 16 } },
        ],
      }));
      pass.dispatchWorkgroups(binned.tilesX, w.rows);
    }
    pass.end();
    this.device.queue.submit([enc.finish()]);
    const packed = new Float32Array(await this.readBuffer(out, this.blocks * pixelsPadded * gpi * 16));
    return fromBlocked(packed, pixels, this.featureDim, pixelsPadded, gpi);
  }
}

/** Rows `pixels` of a (pixels x dim) map, one per listed pixel. */
function pickRows(map: Float32Array, pixels: Uint32Array, dim: number, count: number): Float32Array {
  const out = new Float32Array(pixels.length * dim);
  for (let j = 0; j < pixels.length; j++) {
    const q = pixels[j]!;
    if (!(q < count)) throw new SagaError('BAD_ARGUMENT', `Pixel ${q} is outside the ${count}-pixel view.`);
    out.set(map.subarray(q * dim, q * dim + dim), j * dim);
  }
  return out;
}

interface Binned {
  tilesX: number;
  tilesY: number;
  /** Gaussian index of each tile entry, sorted by (tile, depth, index). */
  ids: GPUBuffer;
  idsSize: number;
  /** Bands of tile rows whose entries fit one binding of `ids` (blend dispatches go per window). */
  windows: IdWindow[];
  ranges: GPUBuffer;
  total: number;
}

interface IdWindow {
  firstRow: number;
  rows: number;
  /** First entry bound (a multiple of 64, so the byte offset is 256-aligned) and bytes bound. */
  base: number;
  size: number;
}

/** Splits tile rows into windows whose sorted entries fit in `maxBinding` bytes. */
function idWindows(ranges: Uint32Array, tilesX: number, tilesY: number, maxBinding: number): IdWindow[] {
  const windows: IdWindow[] = [];
  const rowStart = (row: number) => ranges[row * tilesX * 2]!;
  const rowEnd = (row: number) => ranges[(row * tilesX + tilesX - 1) * 2 + 1]!;
  let first = 0;
  let base = 0;
  for (let row = 0; row < tilesY; row++) {
    const bytes = (rowEnd(row) - base) * 4 + 256;
    if (bytes > maxBinding && row > first) {
      windows.push({ firstRow: first, rows: row - first, base, size: align((rowEnd(row - 1) - base) * 4 + 16, 16) });
      first = row;
      base = Math.floor(rowStart(row) / 64) * 64;
    }
    if ((rowEnd(row) - base) * 4 + 256 > maxBinding) {
      throw new SagaError('TOO_LARGE', `A row of tiles needs ${rowEnd(row) - rowStart(row)} entries, more than this GPU can hold at once; render smaller.`);
    }
  }
  windows.push({ firstRow: first, rows: tilesY - first, base, size: align((rowEnd(tilesY - 1) - base) * 4 + 16, 16) });
  return windows;
}

interface ColorImage extends RenderOutput {
  counts: Uint32Array;
}

/**
 * Row-major items x dim -> the GPU feature layout: channel groups of 4 (zero padded), `gpi`
 * groups per item in a block, blocks one after another: [block][item padded][gpi][4]. With
 * dim = 32 and gpi = 8 this is plain row-major with padded rows.
 */
export function toBlocked(values: Float32Array, items: number, dim: number, itemsPadded: number, gpi: number): Float32Array<ArrayBuffer> {
  const groups = Math.ceil(dim / 4);
  const blocks = Math.ceil(groups / gpi);
  const out = new Float32Array(blocks * itemsPadded * gpi * 4);
  if (dim === gpi * 4) {
    out.set(values.subarray(0, items * dim));
    return out;
  }
  for (let i = 0; i < items; i++) {
    const src = i * dim;
    for (let c = 0; c < dim; c++) {
      const q = c >> 2;
      out[((Math.floor(q / gpi) * itemsPadded + i) * gpi + (q % gpi)) * 4 + (c & 3)] = values[src + c]!;
    }
  }
  return out;
}

/** Inverse of toBlocked. */
export function fromBlocked(packed: Float32Array, items: number, dim: number, itemsPadded: number, gpi: number): Float32Array {
  if (dim === gpi * 4) return packed.slice(0, items * dim);
  const out = new Float32Array(items * dim);
  for (let i = 0; i < items; i++) {
    const dst = i * dim;
    for (let c = 0; c < dim; c++) {
      const q = c >> 2;
      out[dst + c] = packed[((Math.floor(q / gpi) * itemsPadded + i) * gpi + (q % gpi)) * 4 + (c & 3)]!;
    }
  }
  return out;
}
