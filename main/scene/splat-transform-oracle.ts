/**
 * Test-only access to independent implementations: @playcanvas/splat-transform's readers (a dev
 * dependency) and the official Niantic SPZ library compiled to WebAssembly that it bundles. Tests
 * compare our readers against these; the app never uses them at run time.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../common/paths.ts';
import { type GaussianScene, shRestPerChannel } from './gaussians.ts';
import {
  MemoryReadFileSystem,
  createChunkDataPool,
  getInputFormat,
  materializeToDataTable,
  readFile as splatTransformRead,
} from '@playcanvas/splat-transform';

/** Column name -> values (PLY names: x, rot_0, f_rest_12, nx, ...) as splat-transform decodes the file. */
export async function oracleColumns(path: string): Promise<{ count: number; columns: Map<string, ArrayLike<number>> }> {
  const name = basename(path);
  const fs = new MemoryReadFileSystem();
  fs.set(name, new Uint8Array(await readFile(path)));
  const sources = await splatTransformRead({ filename: name, inputFormat: getInputFormat(name), fileSystem: fs });
  const source = sources[0];
  if (!source) throw new Error(`splat-transform returned no data for ${path}`);
  const table = await materializeToDataTable(source, createChunkDataPool());
  const columns = new Map<string, ArrayLike<number>>();
  for (const c of table.columns) columns.set(c.name, c.data);
  return { count: table.numRows, columns };
}

/** The parts of Niantic's SPZ WebAssembly module the tests use. */
export interface NianticSpz {
  CoordinateSystem: { RDF: unknown; RUB: unknown; UNSPECIFIED: unknown };
  saveSpzToBuffer(cloud: NianticCloud, options: { version: number; from: unknown; sh1Bits: number; shRestBits: number }): Uint8Array;
  loadSpzFromBuffer(bytes: Uint8Array, options: { to: unknown }): NianticCloud;
}

/** Niantic's GaussianCloud: rotations x y z w, sh coefficient-major with channel inner. */
export interface NianticCloud {
  numPoints: number;
  shDegree: number;
  antialiased: boolean;
  extensions: unknown[];
  positions: Float32Array;
  scales: Float32Array;
  rotations: Float32Array;
  alphas: Float32Array;
  colors: Float32Array;
  sh: Float32Array;
}

export async function loadNianticSpz(): Promise<NianticSpz> {
  // splat-transform lazy-loads a hashed chunk for its SPZ writer (the nianticlabs/spz C++ code);
  // find the ES module one among its dist files.
  const dist = pathToFileURL(`${PROJECT_ROOT}/node_modules/@playcanvas/splat-transform/dist/`);
  for (const file of readdirSync(dist)) {
    if (!/^spz-.*\.js$/.test(file)) continue;
    const text = readFileSync(new URL(file, dist), 'latin1');
    if (!text.includes('export { createSpzModule as default }')) continue;
    const mod = (await import(new URL(file, dist).href)) as { default: () => Promise<NianticSpz> };
    return mod.default();
  }
  throw new Error('The Niantic SPZ module bundled with @playcanvas/splat-transform was not found (package layout changed?).');
}

/** Our scene as Niantic's GaussianCloud (same axes: the caller tells Niantic which system it is in). */
export function nianticCloud(scene: GaussianScene): NianticCloud {
  const n = scene.count;
  const per = shRestPerChannel(scene.shDegree);
  const rotations = new Float32Array(n * 4);
  const sh = new Float32Array(n * per * 3);
  for (let i = 0; i < n; i++) {
    rotations[i * 4] = scene.rotations[i * 4 + 1]!;
    rotations[i * 4 + 1] = scene.rotations[i * 4 + 2]!;
    rotations[i * 4 + 2] = scene.rotations[i * 4 + 3]!;
    rotations[i * 4 + 3] = scene.rotations[i * 4]!;
    for (let j = 0; j < per; j++) for (let c = 0; c < 3; c++) sh[(i * per + j) * 3 + c] = scene.shRest[i * per * 3 + c * per + j]!;
  }
  return {
    numPoints: n, shDegree: scene.shDegree, antialiased: false, extensions: [],
    positions: scene.positions, scales: scene.scales, rotations, alphas: scene.opacities, colors: scene.sh0, sh,
  };
}
