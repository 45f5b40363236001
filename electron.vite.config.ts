/**
 * Builds the three Electron bundles: main (main/app), preload, and the renderer (Svelte). The renderer
 * build is also what browser mode serves, so it must not depend on Electron at run time.
 * `electron-vite build` only reads electron/package.json, so it works without the Electron binary.
 */
import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { workerEntries } from './main/host/build/entries.ts';

const root = import.meta.dirname;

export default defineConfig({
  main: {
    build: {
      outDir: resolve(root, 'out/main'),
      // Native addons and ws load from node_modules at run time; bundling them breaks their binaries.
      externalizeDeps: { include: ['better-sqlite3', 'onnxruntime-node', 'webgpu', 'ws'] },
      rollupOptions: {
        // Worker entries are found in the sources (entries.ts) and emitted as their own files
        // beside index.js, where startWorker (main/common/start-worker.ts) looks for them.
        // backend-entry: the utility process that runs the backend (main/app/backend-link.ts).
        input: { index: resolve(root, 'main/app/index.ts'), 'backend-entry': resolve(root, 'main/app/backend-entry.ts'), ...workerEntries(root) },
        // Flat, so a worker entry is beside whichever chunk startWorker was bundled into.
        output: { chunkFileNames: '[name]-[hash].js' },
      },
    },
  },
  preload: {
    build: {
      outDir: resolve(root, 'out/preload'),
      rollupOptions: {
        input: { index: resolve(root, 'preload/index.ts') },
        // A sandboxed preload cannot `require` local chunks or ESM: emit one CommonJS file.
        output: { format: 'cjs', entryFileNames: '[name].cjs', codeSplitting: false },
      },
    },
  },
  renderer: {
    root: resolve(root, 'renderer'),
    // Relative asset URLs so the same build works from app://saga/ and from the browser-mode host.
    base: './',
    plugins: [svelte({ configFile: false })],
    build: {
      outDir: resolve(root, 'out/renderer'),
      minify: true,
      rollupOptions: {
        input: { index: resolve(root, 'renderer/index.html') },
        // The splat viewer is its own chunk, named so its frames are recognisable in a stack
        // (renderer/src/viewport/viewer-rejection.ts tells its failures from the app's by them).
        output: { manualChunks: (id: string) => (id.includes('@mkkellogg/gaussian-splats-3d') ? 'gaussian-splats-3d' : undefined) },
      },
      // The splat viewer is large by nature; its chunk is one on purpose.
      chunkSizeWarningLimit: 2000,
    },
  },
});
