/**
 * Worker-thread side of prepareViewsInWorker: runs the prepare job off the caller's thread so a
 * host that also drives a GPU device (Dawn must not see its event loop blocked) stays responsive.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { toSagaError } from '../../contract/errors.ts';
import { prepareViews, type MaskSourceOption, type PrepareInput } from './prepare.ts';
import type { WorkerMessage } from './prepare-worker.ts';

const port = parentPort!;
const { input, masks, force } = workerData as { input: PrepareInput; masks: MaskSourceOption; force?: boolean };
const ac = new AbortController();
port.on('message', (m: { kind: 'abort' }) => {
  if (m.kind === 'abort') ac.abort();
});
const send = (m: WorkerMessage) => port.postMessage(m);
prepareViews(input, { masks, force, signal: ac.signal, onProgress: (progress) => send({ kind: 'progress', progress }) }).then(
  (result) => send({ kind: 'result', result }),
  (e: unknown) => send({ kind: 'error', error: toSagaError(e).toJSON() }),
);
