/**
 * prepareViews in a worker thread, with the same options and result. The auto source runs a few
 * hundred milliseconds of synchronous segmentation per view; a host whose thread also holds a Dawn
 * device or serves the UI should call this instead of prepareViews.
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../common/start-worker.ts';
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

function startPrepareWorker(workerData: unknown): Worker {
  return startWorker(new URL('./prepare-worker-entry.ts', import.meta.url), { workerData });
}
