/**
 * INRIA 3DGS PLY writer (binary little endian). Keeps the source property order and types when the
 * scene was read from a PLY, so writing an unchanged scene reproduces its data bytes exactly.
 */
import type { FileHandle } from 'node:fs/promises';
import { SagaError } from '../contract/errors.ts';
import { type GaussianScene, type PlyScalarType, shRestPerChannel } from './gaussians.ts';
import { PLY_TYPE_SIZE } from './ply-header.ts';
import { type PropertyTarget, type WordRun, standardTarget, wordRuns } from './ply.ts';
import { writeAll, writeFileAtomic } from '../common/atomic-write.ts';

export interface PlyWriteProperty {
  name: string;
  type: PlyScalarType;
}

/** The standard INRIA property names for a scene's SH degree, in the order the INRIA code writes them. */
export function standardPlyNames(scene: GaussianScene): string[] {
  const names = ['x', 'y', 'z', 'f_dc_0', 'f_dc_1', 'f_dc_2'];
  const rest = 3 * shRestPerChannel(scene.shDegree);
  for (let k = 0; k < rest; k++) names.push(`f_rest_${k}`);
  names.push('opacity', 'scale_0', 'scale_1', 'scale_2', 'rot_0', 'rot_1', 'rot_2', 'rot_3');
  return names;
}

/**
 * Which properties to write, in which order: the source order where it still fits the scene, then
 * any standard property or extra the source lacked. Standard fields are float (double kept if the
 * source had it, which is lossless); extras keep their own type.
 */
export function plyWriteLayout(scene: GaussianScene): PlyWriteProperty[] {
  const standard = standardPlyNames(scene);
  const standardSet = new Set(standard);
  const extras = new Map(scene.extras.map((e) => [e.name, e]));
  const out: PlyWriteProperty[] = [];
  const written = new Set<string>();
  const add = (name: string, type: PlyScalarType) => {
    if (written.has(name)) return;
    written.add(name);
    out.push({ name, type });
  };
  for (const p of scene.source?.plyProperties ?? []) {
    if (standardSet.has(p.name)) add(p.name, p.type === 'double' ? 'double' : 'float');
    else {
      const e = extras.get(p.name);
      if (e) add(e.name, e.type);
    }
  }
  if (out.length === 0) {
    // No source layout: the INRIA order, with normals (if kept) right after the position.
    add('x', 'float'); add('y', 'float'); add('z', 'float');
    for (const n of ['nx', 'ny', 'nz']) {
      const e = extras.get(n);
      if (e) add(e.name, e.type);
    }
  }
  for (const name of standard) add(name, 'float');
  for (const e of scene.extras) add(e.name, e.type);
  return out;
}

function checkSceneShape(scene: GaussianScene): void {
  const n = scene.count;
  const rest = 3 * shRestPerChannel(scene.shDegree);
  const ok =
    Number.isSafeInteger(n) && n > 0 &&
    scene.positions.length === 3 * n && scene.scales.length === 3 * n && scene.rotations.length === 4 * n &&
    scene.opacities.length === n && scene.sh0.length === 3 * n && scene.shRest.length === rest * n &&
    scene.extras.every((e) => e.data.length === n);
  if (!ok) {
    throw new SagaError(n === 0 ? 'EMPTY_SCENE' : 'INTERNAL', n === 0 ? 'The scene has no Gaussians left to save. Undo the deletion or keep at least one splat.' : 'The scene arrays do not match its Gaussian count; this is a bug, please report it.');
  }
}

export function plyHeaderText(count: number, layout: PlyWriteProperty[]): string {
  const lines = ['ply', 'format binary_little_endian 1.0', `element vertex ${count}`];
  for (const p of layout) lines.push(`property ${p.type} ${p.name}`);
  lines.push('end_header', '');
  return lines.join('\n');
}

/** Where each written property's values come from in the scene arrays. */
export function targetsFor(scene: GaussianScene, layout: PlyWriteProperty[]): PropertyTarget[] {
  const restStride = 3 * shRestPerChannel(scene.shDegree);
  const extras = new Map(scene.extras.map((e) => [e.name, e]));
  return layout.map((p) => {
    const t = standardTarget(scene, p.name, restStride);
    if (t) return { name: p.name, type: p.type, ...t };
    const e = extras.get(p.name)!;
    return { name: p.name, type: p.type, array: e.data, stride: 1, offset: 0 };
  });
}

type Setter = (dv: DataView, offset: number, value: number) => void;

function setterFor(type: PlyScalarType): Setter {
  switch (type) {
    case 'char': return (dv, o, v) => dv.setInt8(o, v);
    case 'uchar': return (dv, o, v) => dv.setUint8(o, v);
    case 'short': return (dv, o, v) => dv.setInt16(o, v, true);
    case 'ushort': return (dv, o, v) => dv.setUint16(o, v, true);
    case 'int': return (dv, o, v) => dv.setInt32(o, v, true);
    case 'uint': return (dv, o, v) => dv.setUint32(o, v, true);
    case 'float': return (dv, o, v) => dv.setFloat32(o, v, true);
    case 'double': return (dv, o, v) => dv.setFloat64(o, v, true);
  }
}

/** Encodes scene rows into PLY binary rows; mirrors PlyRowDecoder (32-bit word copies when possible). */
export class PlyRowEncoder {
  readonly rowBytes: number;
  private readonly offsets: number[] = [];
  /** Word runs (dst = the scene array the words come from, srcWord = word offset in the PLY row). */
  private readonly runs: WordRun[] | undefined;
  private readonly setters: Setter[];

  constructor(private readonly targets: PropertyTarget[]) {
    let off = 0;
    for (const t of targets) {
      this.offsets.push(off);
      off += PLY_TYPE_SIZE[t.type];
    }
    this.rowBytes = off;
    const littleHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
    // Word copies need the source element type to match the written type bit for bit.
    const wordOk = littleHost && targets.every((t) =>
      (t.type === 'float' && t.array instanceof Float32Array) ||
      (t.type === 'int' && t.array instanceof Int32Array) ||
      (t.type === 'uint' && t.array instanceof Uint32Array));
    this.runs = wordOk ? wordRuns(targets, this.offsets) : undefined;
    this.setters = targets.map((t) => setterFor(t.type));
  }

  /** Writes rows firstRow..firstRow+rows into `out` (4-byte aligned, at least rows * rowBytes long). */
  encodeRows(out: Uint8Array, firstRow: number, rows: number): void {
    if (this.runs) {
      const words = new Uint32Array(out.buffer, out.byteOffset, (rows * this.rowBytes) >>> 2);
      const rowWords = this.rowBytes >>> 2;
      // Run by run, row-major: each output row range is written sequentially (see PlyRowDecoder).
      for (const run of this.runs) {
        const src = run.dst;
        const s = run.stride;
        const len = run.length;
        let si = firstRow * s + run.offset;
        let di = run.srcWord;
        if (len === 1) {
          for (let r = 0; r < rows; r++) {
            words[di] = src[si]!;
            si += s;
            di += rowWords;
          }
        } else {
          for (let r = 0; r < rows; r++) {
            for (let k = 0; k < len; k++) words[di + k] = src[si + k]!;
            si += s;
            di += rowWords;
          }
        }
      }
      return;
    }
    const dv = new DataView(out.buffer, out.byteOffset, rows * this.rowBytes);
    for (let p = 0; p < this.targets.length; p++) {
      const t = this.targets[p]!;
      const set = this.setters[p]!;
      const a = t.array;
      const s = t.stride;
      let si = firstRow * s + t.offset;
      let di = this.offsets[p]!;
      for (let r = 0; r < rows; r++) {
        set(dv, di, a[si]!);
        si += s;
        di += this.rowBytes;
      }
    }
  }
}

const CHUNK_BYTES = 16 * 1024 * 1024;

/** Encodes the whole scene as an INRIA binary PLY in memory (small scenes, tests, downloads). */
export function encodePly(scene: GaussianScene): Uint8Array {
  checkSceneShape(scene);
  const layout = plyWriteLayout(scene);
  const header = new TextEncoder().encode(plyHeaderText(scene.count, layout));
  const encoder = new PlyRowEncoder(targetsFor(scene, layout));
  const body = new Uint8Array(scene.count * encoder.rowBytes);
  encoder.encodeRows(body, 0, scene.count);
  const out = new Uint8Array(header.length + body.length);
  out.set(header, 0);
  out.set(body, header.length);
  return out;
}

/** Streams the scene to `path` as an INRIA binary PLY through one reused 16 MB buffer, atomically. */
export async function writePly(
  scene: GaussianScene,
  path: string,
  options?: { onProgress?: (p: { stage: string; done: number; total: number }) => void; signal?: AbortSignal },
): Promise<void> {
  checkSceneShape(scene);
  const layout = plyWriteLayout(scene);
  const encoder = new PlyRowEncoder(targetsFor(scene, layout));
  const header = new TextEncoder().encode(plyHeaderText(scene.count, layout));
  const rowsPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / encoder.rowBytes));
  const buffer = new Uint8Array(rowsPerChunk * encoder.rowBytes + 8);
  await writeFileAtomic(path, async (file: FileHandle) => {
    await writeAll(file, header);
    for (let row = 0; row < scene.count; row += rowsPerChunk) {
      if (options?.signal?.aborted) throw new SagaError('CANCELLED', 'Saving the scene was cancelled; the previous file is unchanged.');
      const rows = Math.min(rowsPerChunk, scene.count - row);
      encoder.encodeRows(buffer, row, rows);
      await writeAll(file, buffer.subarray(0, rows * encoder.rowBytes));
      options?.onProgress?.({ stage: 'write', done: row + rows, total: scene.count });
    }
  });
}
