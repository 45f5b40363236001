/**
 * Helper threads for the WebAssembly training kernels (KernelHelpers of wasm-gather.ts): Node
 * worker threads that instantiate the same module on the same shared memory and wait on an
 * Atomics word for calls. A call is synchronous for the caller (the engine worker blocks in
 * waitAll for the few milliseconds a step takes), so no message round trip is paid per step.
 *
 * The helper is a short plain-JavaScript script run with `eval`, so it needs no bundling and no
 * TypeScript loader.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { SagaError } from '../contract/errors.ts';
import type { KernelHelperFactory, KernelHelpers, KernelName } from '../engine/raster/wasm-gather.ts';

const KERNELS: KernelName[] = ['forward', 'backward', 'adam'];

// Control words (Int32): 0 call sequence (caller), 1 finished sequence (helper; GONE when the
// helper's loop ended for any reason), 2 kernel index (-1 quits), 3 failed flag, 4 argument
// count, 5 length of the failure text. Arguments are float64 at byte 64 (exact for addresses and
// for f32 parameters); the failure text (UTF-8) at byte 192, so a caller blocked in waitAll reads
// why a kernel failed without a message round trip.
const ARGS_AT = 64;
const ERROR_AT = ARGS_AT + 16 * 8;
const ERROR_BYTES = 1024;
const CONTROL_BYTES = ERROR_AT + ERROR_BYTES;
const SEQ = 0;
const DONE = 1;
const KERNEL = 2;
const FAILED = 3;
const ARGC = 4;
const ERROR_LENGTH = 5;
const GONE = -1;

const HELPER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { module, memory, control, kernels } = workerData;
const exportsOf = new WebAssembly.Instance(module, { env: { memory } }).exports;
const ctl = new Int32Array(control, 0, 16);
const args = new Float64Array(control, ${ARGS_AT}, 16);
const errorText = new Uint8Array(control, ${ERROR_AT}, ${ERROR_BYTES});
parentPort.postMessage('ready');
let seen = 0;
try {
  for (;;) {
    Atomics.wait(ctl, ${SEQ}, seen);
    seen = Atomics.load(ctl, ${SEQ});
    const k = ctl[${KERNEL}];
    if (k < 0) break;
    try {
      exportsOf[kernels[k]](...Array.from(args.subarray(0, ctl[${ARGC}])));
      ctl[${FAILED}] = 0;
    } catch (e) {
      ctl[${FAILED}] = 1;
      const text = new TextEncoder().encode(String((e && e.message) || e).slice(0, ${ERROR_BYTES / 4}));
      errorText.set(text.subarray(0, ${ERROR_BYTES}));
      ctl[${ERROR_LENGTH}] = Math.min(text.length, ${ERROR_BYTES});
    }
    Atomics.store(ctl, ${DONE}, seen);
    Atomics.notify(ctl, ${DONE});
  }
} finally {
  Atomics.store(ctl, ${DONE}, ${GONE});
  Atomics.notify(ctl, ${DONE});
}
`;

/** How long waitAll waits for a helper before giving up (a step takes milliseconds to seconds). */
const WAIT_MS = 120_000;

interface Helper {
  worker: Worker;
  ctl: Int32Array;
  args: Float64Array;
  /** Why the last call failed (UTF-8, ctl[ERROR_LENGTH] bytes). */
  errorText: Uint8Array;
  busy: boolean;
}

/**
 * Helpers for all but one of the machine's cores (the engine worker's own thread is the other),
 * at most `max`. On a 2-core machine: one helper.
 */
export function nodeKernelHelpers(max = 3): KernelHelperFactory {
  const count = Math.max(0, Math.min(max, availableParallelism() - 1));
  return async (module, memory) => {
    const helpers: Helper[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const control = new SharedArrayBuffer(CONTROL_BYTES);
        const worker = new Worker(HELPER_SOURCE, { eval: true, workerData: { module, memory, control, kernels: KERNELS } });
        worker.unref();
        await new Promise<void>((resolve, reject) => {
          worker.once('message', () => resolve());
          worker.once('error', reject);
          worker.once('exit', (code) => reject(new Error(`exited with code ${code}`)));
        });
        helpers.push({ worker, ctl: new Int32Array(control, 0, 16), args: new Float64Array(control, ARGS_AT, 16), errorText: new Uint8Array(control, ERROR_AT, ERROR_BYTES), busy: false });
      }
    } catch (e) {
      for (const h of helpers) void h.worker.terminate();
      throw new SagaError('INTERNAL', `The training helper threads failed to start: ${(e as Error).message}`, undefined, { cause: e });
    }
    return new NodeKernelHelpers(helpers);
  };
}

class NodeKernelHelpers implements KernelHelpers {
  constructor(private readonly helpers: Helper[]) {}

  get count(): number {
    return this.helpers.length;
  }

  start(helper: number, kernel: KernelName, args: number[]): void {
    const h = this.helpers[helper];
    if (!h || h.busy) throw new SagaError('INTERNAL', `Helper ${helper} is missing or busy.`);
    if (Atomics.load(h.ctl, DONE) === GONE) throw gone();
    h.args.set(args);
    h.ctl[ARGC] = args.length;
    h.ctl[KERNEL] = KERNELS.indexOf(kernel);
    h.busy = true;
    Atomics.add(h.ctl, SEQ, 1);
    Atomics.notify(h.ctl, SEQ);
  }

  waitAll(): void {
    let failed: string | undefined;
    let error: SagaError | undefined;
    for (const h of this.helpers) {
      if (!h.busy) continue;
      h.busy = false;
      const target = Atomics.load(h.ctl, SEQ);
      for (let done = Atomics.load(h.ctl, DONE); done !== target; done = Atomics.load(h.ctl, DONE)) {
        if (done === GONE) {
          error ??= gone();
          break;
        }
        if (Atomics.wait(h.ctl, DONE, done, WAIT_MS) === 'timed-out') {
          error ??= new SagaError('ENGINE_CRASHED', 'A training helper thread stopped answering. Restart the engine.');
          break;
        }
      }
      if (h.ctl[FAILED] !== 0) failed ??= new TextDecoder().decode(h.errorText.slice(0, h.ctl[ERROR_LENGTH]));
    }
    if (error) throw error;
    if (failed !== undefined) throw new SagaError('INTERNAL', `A training kernel failed on a helper thread: ${failed}.`, { reason: failed });
  }

  close(): void {
    for (const h of this.helpers) {
      h.ctl[KERNEL] = -1;
      Atomics.add(h.ctl, SEQ, 1);
      Atomics.notify(h.ctl, SEQ);
      void h.worker.terminate();
    }
    this.helpers.length = 0;
  }
}

function gone(): SagaError {
  return new SagaError('ENGINE_CRASHED', 'A training helper thread has stopped. Restart the engine.');
}
