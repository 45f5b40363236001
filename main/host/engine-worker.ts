/**
 * The engine worker thread: holds the Dawn GPU device and the rasterizer, answers EngineClient's
 * messages one at a time. Heavy synchronous work stays short here (Dawn crashes if this thread's
 * event loop blocks for long).
 */
import { parentPort } from 'node:worker_threads';
import { SagaError, toSagaError } from '../contract/errors.ts';
import type { EngineRequestMessage, EngineRequests, EngineRequestType, EngineResponseMessage } from '../engine/client.ts';
import { requestGpuDevice } from '../engine/gpu/device.ts';
import { createNodeGpu } from '../engine/gpu/node-gpu.ts';
import { loadShaderFromDisk } from '../engine/gpu/node-shaders.ts';
import { GaussianRasterizer, isCpuAdapter, type PreparedView } from '../engine/raster/rasterizer.ts';
import { WasmFeatureGather } from '../engine/raster/wasm-gather.ts';
import { nodeKernelHelpers } from './kernel-threads.ts';

if (!parentPort) throw new Error('engine-worker.ts must run as a worker thread');
const port = parentPort;

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

type Handlers = { [T in EngineRequestType]: (args: EngineRequests[T]['args']) => Promise<EngineRequests[T]['result']> };

const handlers: Handlers = {
  async init({ maxBindingBytes, sort, training }) {
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
  async loadScene({ scene }) {
    for (const v of views.values()) v.destroy();
    views.clear();
    engine().loadScene(scene);
    return { count: scene.count };
  },
  async setFeatures({ features, dim }) {
    engine().setFeatures(features, dim);
    return null;
  },
  async render({ camera, options }) {
    return engine().render(camera, options);
  },
  async prepareView({ camera, options }) {
    const v = await engine().prepareView(camera, options);
    const id = nextView++;
    views.set(id, v);
    return { view: id, contributions: v.contributions, image: v.image };
  },
  async forwardFeatures({ view: id, features }) {
    return engine().forwardFeatures(view(id), features);
  },
  async backwardFeatures({ view: id, grad, keepOnGpu }) {
    return engine().backwardFeatures(view(id), grad, { keepOnGpu });
  },
  async releaseView({ view: id }) {
    views.get(id)?.destroy();
    views.delete(id);
    return null;
  },
  async adamStep(options) {
    return { step: await engine().adamStep(options) };
  },
  async readFeatures() {
    return engine().readFeatures();
  },
  async timings() {
    return engine().timings;
  },
};

// One request at a time: the GPU queue is shared and results are read back in order.
let queue: Promise<void> = Promise.resolve();
port.on('message', (msg: EngineRequestMessage) => {
  if (process.env.SAGA_GPU_DEBUG) console.error("engine request", msg.type);
  queue = queue.then(async () => {
    let response: EngineResponseMessage;
    const transfer: ArrayBuffer[] = [];
    try {
      const handler = handlers[msg.type] as (args: unknown) => Promise<unknown>;
      if (!handler) throw new SagaError('INTERNAL', `Unknown engine request '${String(msg.type)}'.`);
      const result = await handler(msg.args);
      collectBuffers(result, transfer);
      response = { id: msg.id, ok: true, result };
    } catch (e) {
      response = { id: msg.id, ok: false, error: toSagaError(e).toJSON() };
    }
    if (process.env.SAGA_GPU_DEBUG) console.error("engine response", msg.type, transfer.length);
    port.postMessage(response, transfer);
  });
});

/** Typed arrays in a result are transferred, not copied (images and gradients can be large). */
function collectBuffers(value: unknown, out: ArrayBuffer[]): void {
  if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer && !out.includes(value.buffer) && value.byteOffset === 0 && value.byteLength === value.buffer.byteLength) {
      out.push(value.buffer);
    }
    return;
  }
  if (value && typeof value === 'object') for (const v of Object.values(value)) collectBuffers(v, out);
}
