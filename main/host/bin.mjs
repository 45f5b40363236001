#!/usr/bin/env node
// Launcher for the `saga-studio` command. It runs the CLI built into out/cli (npm builds it on
// install through `prepare`; `npm run build` rebuilds it), which starts in tens of milliseconds.
// When that build is missing or older than a source it was built from (a clone being edited), it
// runs the TypeScript sources through tsx instead: slower to start, never stale.
import { readFileSync, statSync } from 'node:fs';

const root = new URL('../../', import.meta.url);
const built = new URL('out/cli/', root);

/** True when out/cli exists and no source listed in its manifest changed since it was built. */
function buildIsCurrent() {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(new URL('inputs.json', built), 'utf8'));
  } catch {
    // No build (or an interrupted one): the sources are the way to run.
    return false;
  }
  for (const [path, mtimeMs] of manifest.inputs) {
    let current;
    try {
      current = statSync(new URL(path, root)).mtimeMs;
    } catch {
      // A source the build used is gone: the build no longer matches the tree.
      return false;
    }
    if (current > mtimeMs) return false;
  }
  return true;
}

let cli;
if (buildIsCurrent()) {
  cli = await import(new URL('cli.js', built).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import('./cli.ts');
}
process.exitCode = await cli.runFromShell(process.argv.slice(2));
