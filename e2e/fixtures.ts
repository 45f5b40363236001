/**
 * Paths to the shared real scenes (../shared/data relative to the project root). Tests call
 * `sharedScene(name)`, which fails with a clear message when the folder is missing.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SHARED_SCENES = resolve(PROJECT_ROOT, '../shared/data/scenes');

export const SCENES = {
  guitar: 'guitar.compressed.ply',
  compressedSh3: 'compressed-sh3-64.ply',
  inria: 'inria-sh3-9080.ply',
  antimatter: 'antimatter-22764.splat',
} as const;

export function sharedScene(file: string): string {
  const path = join(SHARED_SCENES, file);
  if (!existsSync(path)) {
    throw new Error(
      `Test scene missing: ${path}. The tests read real scenes from ../shared/data/scenes beside the project clone.`,
    );
  }
  return path;
}

/** A folder for test outputs worth keeping (screenshots, contact sheets); CI can upload it. */
export const ARTIFACTS = join(PROJECT_ROOT, '.artifacts');
