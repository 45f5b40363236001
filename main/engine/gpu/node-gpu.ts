/**
 * Dawn's WebGPU for Node. Only call this inside a worker thread: a Dawn device on a thread whose
 * event loop blocks for hundreds of milliseconds crashed dawn.node here (see DESIGN.md).
 */
import { isMainThread } from 'node:worker_threads';
import { SagaError } from '../../contract/errors.ts';

export async function createNodeGpu(): Promise<GPU> {
  if (isMainThread && !process.env.SAGA_ALLOW_MAIN_THREAD_GPU) {
    throw new SagaError('INTERNAL', 'The Dawn GPU must be created in a worker thread (use EngineClient).');
  }
  let mod: typeof import('webgpu');
  try {
    mod = await import('webgpu');
  } catch (e) {
    throw new SagaError('NO_GPU_ADAPTER', "no WebGPU adapter: the 'webgpu' package failed to load; reinstall dependencies", undefined, {
      cause: e,
    });
  }
  Object.assign(globalThis, mod.globals);
  return mod.create([]) as GPU;
}
