/**
 * The one way the app starts a worker thread from its own code. Callers name the entry module as
 * `new URL('./x-worker.ts', import.meta.url)`; the bundles (the CLI's out/cli, Electron's out/main)
 * find such entries in the sources and emit each as `x-worker.js` beside this module's bundled
 * copy (main/host/build/entries.ts), so:
 * - bundled, the built `x-worker.js` starts directly: no TypeScript loader, no transpiling;
 * - from source (tests, `node --import tsx`), a tiny bootstrap registers tsx inside the worker
 *   first: on Node 20, `--import tsx` in execArgv does not reach a worker whose entry is .ts.
 */
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { SagaError } from '../contract/errors.ts';

const BUNDLED = import.meta.url.endsWith('.js');

export function startWorker(entry: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  if (BUNDLED) {
    const built = new URL(`./${basename(entry.pathname, '.ts')}.js`, import.meta.url);
    if (!existsSync(fileURLToPath(built))) {
      throw new SagaError('INTERNAL', `The build has no ${fileURLToPath(built)}. Run \`npm run build\` to rebuild it.`, { entry: entry.href });
    }
    return new Worker(built, options);
  }
  // tsx is resolved here: an eval worker resolves bare names from the current folder, not ours.
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
