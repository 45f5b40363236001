/**
 * The engine worker thread: holds the Dawn GPU device and the rasterizer, and answers EngineMethods
 * (main/engine/protocol.ts) on the contract's RPC over the MessagePort it was given, one request at
 * a time. Heavy synchronous work stays short here (Dawn crashes if this thread's event loop blocks
 * for long).
 */
import { workerData } from 'node:worker_threads';
import { SagaError } from '../contract/errors.ts';
import { RpcServer, type Handlers } from '../contract/rpc.ts';
import { messagePortTransport } from '../contract/transports/message-port.ts';
import { requestGpuDevice } from '../engine/gpu/device.ts';
import { createNodeGpu } from '../engine/gpu/node-gpu.ts';
import { loadShaderFromDisk } from '../engine/gpu/node-shaders.ts';
import type { EngineMethods } from '../engine/protocol.ts';
import { GaussianRasterizer, isCpuAdapter, type PreparedView } from '../engine/raster/rasterizer.ts';
import { WasmFeatureGather } from '../engine/raster/wasm-gather.ts';
import { nodeKernelHelpers } from './kernel-threads.ts';

const { port } = workerData as { port: import('node:worker_threads').MessagePort };
if (!port) throw new Error('engine-worker.ts must run as a worker thread started by EngineClient');

let rasterizer: GaussianRasterizer | undefined;
/** Held for the worker's lifetime: see GpuDeviceHandle. */
let gpuHandle: Awaited<ReturnType<typeof requestGpuDevice>> | undefined;
const views = new Map<number, PreparedView>();
let nextView = 1;

function engine(): GaussianRasterizer {
  if (!rasterizer) throw new SagaError('INTERNAL', 'The engine was not initialised.');
  return rasterizer;
}

function view(id: number): PreparedView {
  const v = views.get(id);
  if (!v) throw new SagaError('BAD_ARGUMENT', `No prepared view ${id}; prepare it again.`);
  return v;
}

/**
 * On CPU adapters the cached training step runs in WebAssembly SIMD on all cores (wasm-gather.ts),
 * started at the first prepared view. If this runtime cannot (no SIMD or threads), training falls
 * back to the WGSL gathers unless WebAssembly was asked for explicitly.
 */
async function startWasmTraining(required: boolean): Promise<WasmFeatureGather | undefined> {
  try {
    return await WasmFeatureGather.create(loadShaderFromDisk, { helpers: nodeKernelHelpers() });
  } catch (e) {
    if (required) throw e;
    console.error(`Training on WGSL gathers: ${(e as Error).message}`);
    return undefined;
  }
}

const handlers: Handlers<EngineMethods> = {
  async 'engine.init'({ maxBindingBytes, sort, training }) {
    const gpu = await createNodeGpu();
    gpuHandle = await requestGpuDevice(gpu);
    const { device, adapterInfo } = gpuHandle;
    if (process.env.SAGA_GPU_DEBUG) device.addEventListener('uncapturederror', (e) => {
      console.error(`GPU error: ${(e as GPUUncapturedErrorEvent).error.message}`);
    });
    const cpu = isCpuAdapter(adapterInfo);
    const wasm = (training ?? (cpu ? 'wasm' : 'gpu')) === 'wasm';
    rasterizer = await GaussianRasterizer.create(device, loadShaderFromDisk, {
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

// One request at a time: the GPU queue is shared and results are read back in order.
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

new RpcServer<EngineMethods>(serial, { onProtocolError: (m) => console.error(`engine worker: ${m}`) })
  .attach(messagePortTransport(port, { transferBytes: true }));
