/**
 * Builds the command line into out/cli as plain JavaScript, so `saga-studio` starts without
 * transpiling TypeScript (about 0.5 s per call through tsx). Run by npm on install (`prepare`),
 * by `npm run build`, and before the test suite (vitest's global setup).
 *
 * - Entries: main/host/cli.ts, which imports each command lazily (each becomes its own chunk, so
 *   `saga-studio info` loads no GPU engine), plus every worker entry (entries.ts).
 * - Packages stay external: native addons and large dependencies load from node_modules as before.
 * - out/cli/inputs.json lists every source file with its modification time: main/host/bin.mjs
 *   runs the build only while none is newer, else the sources through tsx, so an edit is never
 *   answered by stale JavaScript.
 */
import { rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { writeFileAtomicSync } from '../../common/atomic-write.ts';
import { workerEntries } from './entries.ts';

export const PROJECT_ROOT = resolve(import.meta.dirname, '../../..');
export const CLI_OUT_DIR = join(PROJECT_ROOT, 'out/cli');

/** What out/cli/inputs.json holds: paths relative to the project root, modification times in ms. */
export interface CliBuildManifest {
  inputs: [path: string, mtimeMs: number][];
}

export async function buildCli(root = PROJECT_ROOT, outDir = join(root, 'out/cli')): Promise<CliBuildManifest> {
  rmSync(outDir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: { cli: join(root, 'main/host/cli.ts'), ...workerEntries(root) },
    outdir: outDir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    // Flat: startWorker finds a worker entry beside whichever chunk it was bundled into.
    entryNames: '[name]',
    chunkNames: '[name]-[hash]',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
  });
  const inputs = Object.keys(result.metafile.inputs).map((path): [string, number] => [path, statSync(join(root, path)).mtimeMs]);
  const manifest: CliBuildManifest = { inputs };
  writeFileAtomicSync(join(outDir, 'inputs.json'), JSON.stringify(manifest));
  return manifest;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const started = performance.now();
  const { inputs } = await buildCli();
  console.log(`saga-studio CLI built into out/cli (${inputs.length} sources) in ${(performance.now() - started).toFixed(0)} ms`);
}
