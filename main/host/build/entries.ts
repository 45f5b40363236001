/**
 * What the Node bundles (the CLI's out/cli and Electron's out/main) must build as their own entry
 * files, found from the sources so a new command or worker needs no build configuration:
 * - every worker entry: a module the sources start with startWorker and a `new URL('./x.ts',
 *   import.meta.url)` (main/common/start-worker.ts), emitted as `x.js` at the top of the bundle,
 *   where startWorker looks for it;
 * - the commands, which the CLI's table imports lazily (main/host/cli.ts): they become chunks of
 *   their own through those dynamic imports, so they need no entry here.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';

const WORKER_START = /startWorker\(\s*new URL\(\s*['"](\.{1,2}\/[\w./-]+\.ts)['"]\s*,\s*import\.meta\.url\s*\)/g;

/** Every .ts source under `dir` that is not a test. */
function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith('.ts') && !d.name.endsWith('.test.ts') && !d.name.endsWith('.d.ts'))
    .map((d) => join(d.parentPath, d.name));
}

/**
 * The worker entries under `<root>/main`, as { name: absolute path } with name the file's base
 * name without .ts (the bundle's file name). Two entries with one base name would overwrite each
 * other in the flat bundle: refused.
 */
export function workerEntries(root: string): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const file of sources(join(root, 'main'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(WORKER_START)) {
      const entry = resolve(dirname(file), m[1]!);
      if (!existsSync(entry)) throw new Error(`${relative(root, file)} starts a worker from ${m[1]}, which does not exist.`);
      const name = basename(entry, '.ts');
      if (entries[name] !== undefined && entries[name] !== entry) {
        throw new Error(`Two worker entries are named ${name}.ts (${relative(root, entries[name]!)} and ${relative(root, entry)}): rename one, the bundles are flat.`);
      }
      entries[name] = entry;
    }
  }
  return entries;
}
