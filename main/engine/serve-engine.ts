/**
 * The engine host's one job, written once for every host: answer EngineMethods (protocol.ts) on
 * the contract's RPC over a transport, with a rasterizer on an injected WebGPU. The Node engine
 * worker (main/host/engine-worker.ts) gives it Dawn and shaders from disk; the Electron engine
 * window (renderer/engine/) gives it Chromium's navigator.gpu and shaders bundled with the page.
 * Requests run one at a time: the GPU queue is shared and results are read back in order.
 */
import { SagaError } from '../contract/errors.ts';
import { RpcServer, type Handlers } from '../contract/rpc.ts';
import type { Transport } from '../contract/transport.ts';
import { requestGpuDevice, type GpuDeviceHandle } from './gpu/device.ts';
import type { EngineMethods } from './protocol.ts';
import { GaussianRasterizer, isCpuAdapter, type PreparedView, type ShaderSource } from './raster/rasterizer.ts';
import type { WasmFeatureGather } from './raster/wasm-gather.ts';

export interface EngineHost {
  /** The WebGPU entry point: Dawn's GPU in a Node worker, navigator.gpu in Chromium. */
  gpu(): Promise<GPU>;
  /** WGSL (and WebAssembly text) files of native-shaders/ by name. */
  loadShader: ShaderSource;
  /**
   * The WebAssembly training kernels, where this host can assemble them (Node, with wabt: given as
   * a factory so a page's bundle never pulls wabt in); without, training on a CPU adapter uses the
   * WGSL gathers.
   */
  wasmKernels?: (loadShader: ShaderSource) => Promise<WasmFeatureGather>;
  /** Log the device's uncaptured errors (debugging: SAGA_GPU_DEBUG in Node). */
  reportGpuErrors?: boolean;
  /** Where the host reports what a caller cannot be told (default console.error). */
  log?: (message: string) => void;
}

/** Serves the engine on `transport` until it closes. */
export function serveEngine(transport: Transport, host: EngineHost): RpcServer<EngineMethods> {
  const log = host.log ?? ((m: string) => console.error(m));
  let rasterizer: GaussianRasterizer | undefined;
  /** Held for the host's lifetime: see GpuDeviceHandle. */
  let gpuHandle: GpuDeviceHandle | undefined;
  const views = new Map<number, PreparedView>();
  let nextView = 1;

  const engine = (): GaussianRasterizer => {
    if (!rasterizer) throw new SagaError('INTERNAL', 'The engine was not initialised.');
    return rasterizer;
  };
  const view = (id: number): PreparedView => {
    const v = views.get(id);
    if (!v) throw new SagaError('BAD_ARGUMENT', `No prepared view ${id}; prepare it again.`);
    return v;
  };

  /**
   * On CPU adapters the cached training step runs in WebAssembly SIMD on all cores
   * (wasm-gather.ts), started at the first prepared view. If this host cannot (no kernels, SIMD
   * or threads), training falls back to the WGSL gathers unless WebAssembly was asked for.
   */
  const startWasmTraining = async (required: boolean): Promise<WasmFeatureGather | undefined> => {
    try {
      if (!host.wasmKernels) throw new SagaError('GPU_ERROR', 'this engine host has no WebAssembly training kernels');
      return await host.wasmKernels(host.loadShader);
    } catch (e) {
      if (required) throw e;
      log(`Training on WGSL gathers: ${(e as Error).message}`);
      return undefined;
    }
  };

  const handlers: Handlers<EngineMethods> = {
    async 'engine.init'({ maxBindingBytes, sort, training }) {
      gpuHandle = await requestGpuDevice(await host.gpu());
      const { device, adapterInfo } = gpuHandle;
      if (host.reportGpuErrors) device.addEventListener('uncapturederror', (e) => log(`GPU error: ${(e as GPUUncapturedErrorEvent).error.message}`));
      const cpu = isCpuAdapter(adapterInfo);
      const wasm = (training ?? (cpu ? 'wasm' : 'gpu')) === 'wasm';
      rasterizer = await GaussianRasterizer.create(device, host.loadShader, {
        maxBindingBytes,
        sort: sort ?? (cpu ? 'cpu' : 'gpu'),
        wasmTraining: wasm ? () => startWasmTraining(training === 'wasm') : undefined,
      });
      return {
        adapter: `${adapterInfo.vendor} ${adapterInfo.architecture} ${adapterInfo.description}`.trim(),
        sort: rasterizer.sortOn,
        training: rasterizer.trainingOn,
      };
    },
    async 'engine.loadScene'({ scene }) {
      for (const v of views.values()) v.destroy();
      views.clear();
      engine().loadScene({ ...scene, extras: [] });
      return { count: scene.count };
    },
    async 'engine.setFeatures'({ features, dim }) {
      engine().setFeatures(features, dim);
      return null;
    },
    'engine.render': ({ camera, options }) => engine().render(camera, options),
    async 'engine.prepareView'({ camera, options }) {
      const v = await engine().prepareView(camera, options);
      const id = nextView++;
      views.set(id, v);
      return { view: id, contributions: v.contributions, image: v.image };
    },
    'engine.forwardFeatures': ({ view: id, features, pixels }) => engine().forwardFeatures(view(id), features, pixels),
    'engine.backwardFeatures': ({ view: id, grad, keepOnGpu, pixels }) => engine().backwardFeatures(view(id), grad, { keepOnGpu, ...(pixels ? { pixels } : {}) }),
    async 'engine.releaseView'({ view: id }) {
      views.get(id)?.destroy();
      views.delete(id);
      return null;
    },
    async 'engine.adamStep'(options) {
      return { step: await engine().adamStep(options) };
    },
    'engine.readAdamState': () => engine().readAdamState(),
    async 'engine.setAdamState'(state) {
      await engine().setAdamState(state);
      return null;
    },
    'engine.readFeatures': () => engine().readFeatures(),
    async 'engine.timings'() {
      return engine().timings;
    },
  };

  let queue: Promise<unknown> = Promise.resolve();
  const serial = Object.fromEntries(
    Object.entries(handlers).map(([method, handler]) => [
      method,
      (params: unknown) => {
        const run = queue.then(() => (handler as (p: unknown) => unknown)(params));
        queue = run.catch((e: unknown) => {
          // The caller gets this error through `run`; the queue only moves on.
          void e;
        });
        return run;
      },
    ]),
  ) as unknown as Handlers<EngineMethods>;

  const server = new RpcServer<EngineMethods>(serial, { onProtocolError: (m) => log(`engine host: ${m}`) });
  server.attach(transport);
  return server;
}
