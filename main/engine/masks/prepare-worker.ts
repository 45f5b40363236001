/**
 * prepareViews in a worker thread, with the same options and result. The auto source runs a few
 * hundred milliseconds of synchronous segmentation per view; a host whose thread also holds a Dawn
 * device or serves the UI should call this instead of prepareViews.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { SagaError, type SagaErrorData } from '../../contract/errors.ts';
import type { PrepareInput, PrepareOptions, PrepareProgress, PrepareResult } from './prepare.ts';

export type WorkerMessage =
  | { kind: 'progress'; progress: PrepareProgress }
  | { kind: 'result'; result: PrepareResult }
  | { kind: 'error'; error: SagaErrorData };

export function prepareViewsInWorker(input: PrepareInput, options: PrepareOptions): Promise<PrepareResult> {
  return new Promise((resolvePromise, reject) => {
    const worker = startPrepareWorker({ input, masks: options.masks, force: options.force });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      fn();
      void worker.terminate();
    };
    const onAbort = () => worker.postMessage({ kind: 'abort' });
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort);
    worker.on('message', (m: WorkerMessage) => {
      if (m.kind === 'progress') options.onProgress?.(m.progress);
      else if (m.kind === 'result') finish(() => resolvePromise(m.result));
      else finish(() => reject(SagaError.fromJSON(m.error)));
    });
    worker.on('error', (e) => finish(() => reject(new SagaError('ENGINE_CRASHED', `The mask preparation worker failed (${e.message}). Run prepare again; finished views are kept.`, undefined, { cause: e }))));
    worker.on('exit', (code) => finish(() => reject(new SagaError('ENGINE_CRASHED', `The mask preparation worker stopped unexpectedly (exit code ${code}). Run prepare again; finished views are kept.`))));
  });
}

/**
 * The worker runs the built entry when this module is part of a bundle (electron-vite emits
 * prepare-worker-entry.js beside the main bundle), else the TypeScript source through tsx.
 */
function startPrepareWorker(workerData: unknown): Worker {
  const built = new URL('./prepare-worker-entry.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return new Worker(built, { workerData });
  // On Node 20, `--import tsx` in execArgv does not reach a worker whose entry is a .ts file, so a
  // tiny bootstrap registers tsx inside the worker first (same approach as main/host/engine-client.ts).
  const entry = new URL('./prepare-worker-entry.ts', import.meta.url).href;
  // tsx is resolved here: an eval worker resolves bare names from the current folder, not ours.
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}
