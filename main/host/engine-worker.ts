/**
 * The engine worker thread of Node hosts (CLI, browser mode, tests): the engine (serve-engine.ts)
 * on Dawn's WebGPU, shaders from disk and WebAssembly training kernels on helper threads,
 * answering over the MessagePort it was given. Heavy synchronous work stays short here (Dawn
 * crashes if this thread's event loop blocks for long).
 */
import { workerData, type MessagePort } from 'node:worker_threads';
import { messagePortTransport } from '../contract/transports/message-port.ts';
import { createNodeGpu } from '../engine/gpu/node-gpu.ts';
import { loadShaderFromDisk } from '../engine/gpu/node-shaders.ts';
import { WasmFeatureGather } from '../engine/raster/wasm-gather.ts';
import { serveEngine } from '../engine/serve-engine.ts';
import { nodeKernelHelpers } from './kernel-threads.ts';

const { port } = workerData as { port: MessagePort };
if (!port) throw new Error('engine-worker.ts must run as a worker thread started by EngineClient');

serveEngine(messagePortTransport(port, { transferBytes: true }), {
  gpu: createNodeGpu,
  loadShader: loadShaderFromDisk,
  wasmKernels: (loadShader) => WasmFeatureGather.create(loadShader, { helpers: nodeKernelHelpers() }),
  reportGpuErrors: !!process.env.SAGA_GPU_DEBUG,
});
