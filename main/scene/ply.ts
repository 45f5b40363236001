/**
 * INRIA 3DGS PLY: the `vertex` element of a 3D Gaussian Splatting training output
 * (x y z [nx ny nz] f_dc_0..2 f_rest_* opacity scale_0..2 rot_0..3), matched by property name.
 * Unknown properties are kept as typed extras, and the property order is recorded so the writer
 * can reproduce the source layout bit for bit.
 *
 * Decoding works on row ranges (`decodeRows`), so the file reader can stream a large file through
 * one reused buffer straight into the scene arrays.
 */
import { SagaError } from '../contract/errors.ts';
import {
  type ExtraProperty,
  type GaussianScene,
  type PlyScalarType,
  type ScalarArray,
  type ShDegree,
  createScene,
  shDegreeFromRestPerChannel,
  shRestPerChannel,
} from './gaussians.ts';
import { PLY_TYPE_SIZE, type PlyElement, type PlyHeader, plyRowBytes } from './ply-header.ts';
import { where } from './read-options.ts';

/** Where one PLY property lands: element `offset + row * stride` of `array`. */
export interface PropertyTarget {
  name: string;
  type: PlyScalarType;
  array: ScalarArray;
  stride: number;
  offset: number;
}

export function scalarArrayFor(type: PlyScalarType, length: number): ScalarArray {
  switch (type) {
    case 'char': return new Int8Array(length);
    case 'uchar': return new Uint8Array(length);
    case 'short': return new Int16Array(length);
    case 'ushort': return new Uint16Array(length);
    case 'int': return new Int32Array(length);
    case 'uint': return new Uint32Array(length);
    case 'float': return new Float32Array(length);
    case 'double': return new Float64Array(length);
  }
}

const REST_RE = /^f_rest_(\d+)$/;

/** Properties every 3DGS scene has besides x y z (f_rest_* depend on the SH degree). */
const GAUSSIAN_PROPERTIES = ['f_dc_0', 'f_dc_1', 'f_dc_2', 'opacity', 'scale_0', 'scale_1', 'scale_2', 'rot_0', 'rot_1', 'rot_2', 'rot_3'];

/**
 * Builds an empty scene for a PLY vertex element and the per-property targets that fill it.
 * @throws SagaError BAD_HEADER when positions are missing or the f_rest_* set is not an SH degree.
 */
export function planPlyScene(vertex: PlyElement, path: string | undefined): { scene: GaussianScene; targets: PropertyTarget[] } {
  const names = new Set(vertex.properties.map((p) => p.name));
  for (const p of vertex.properties) {
    if (p.list) {
      throw new SagaError('UNSUPPORTED_FORMAT', `${where(path)}the vertex element has a list property '${p.name}', which a Gaussian splat file never has. Export the scene as a 3DGS PLY.`, { path });
    }
  }
  for (const required of ['x', 'y', 'z']) {
    if (!names.has(required)) {
      throw new SagaError('BAD_HEADER', `${where(path)}the PLY vertex element has no '${required}' property, so it holds no Gaussian positions. Choose a 3DGS scene file.`, { path });
    }
  }
  const restCount = vertex.properties.filter((p) => REST_RE.test(p.name)).length;
  if (restCount % 3 !== 0 || shDegreeFromRestPerChannel(restCount / 3) === undefined) {
    throw new SagaError('BAD_HEADER', `${where(path)}the file has ${restCount} f_rest_* properties; a 3DGS scene has 0, 9, 24 or 45 (SH degree 0 to 3). Re-export the scene.`, { path });
  }
  const shDegree = shDegreeFromRestPerChannel(restCount / 3) as ShDegree;
  for (let k = 0; k < restCount; k++) {
    if (!names.has(`f_rest_${k}`)) {
      throw new SagaError('BAD_HEADER', `${where(path)}f_rest_${k} is missing although ${restCount} f_rest_* properties are present. Re-export the scene.`, { path });
    }
  }
  // Without these a PLY is a point cloud or a mesh (COLMAP points3D.ply, a scan): loading it with
  // default scales and opacities would show meaningless unit-sized blobs.
  const missing = GAUSSIAN_PROPERTIES.filter((name) => !names.has(name));
  if (missing.length > 0) {
    throw new SagaError(
      'BAD_HEADER',
      `${where(path)}the PLY has no ${missing.join(', ')} propert${missing.length === 1 ? 'y' : 'ies'}: it is a point cloud or mesh, not a 3D Gaussian Splatting scene. Choose the point_cloud.ply a 3DGS training run writes (point_cloud/iteration_N/point_cloud.ply).`,
      { path, missing },
    );
  }
  const n = vertex.count;
  const scene = createScene(n, shDegree);
  const restStride = 3 * shRestPerChannel(shDegree);
  const targets: PropertyTarget[] = [];
  const extras: ExtraProperty[] = [];
  for (const p of vertex.properties) {
    const t = standardTarget(scene, p.name, restStride);
    if (t) {
      targets.push({ name: p.name, type: p.type, ...t });
    } else {
      const data = scalarArrayFor(p.type, n);
      extras.push({ name: p.name, type: p.type, data });
      targets.push({ name: p.name, type: p.type, array: data, stride: 1, offset: 0 });
    }
  }
  scene.extras = extras;
  scene.source = { format: 'ply', path, plyProperties: vertex.properties.map((p) => ({ name: p.name, type: p.type })) };
  return { scene, targets };
}

export function standardTarget(scene: GaussianScene, name: string, restStride: number): { array: Float32Array; stride: number; offset: number } | undefined {
  switch (name) {
    case 'x': return { array: scene.positions, stride: 3, offset: 0 };
    case 'y': return { array: scene.positions, stride: 3, offset: 1 };
    case 'z': return { array: scene.positions, stride: 3, offset: 2 };
    case 'scale_0': return { array: scene.scales, stride: 3, offset: 0 };
    case 'scale_1': return { array: scene.scales, stride: 3, offset: 1 };
    case 'scale_2': return { array: scene.scales, stride: 3, offset: 2 };
    case 'rot_0': return { array: scene.rotations, stride: 4, offset: 0 };
    case 'rot_1': return { array: scene.rotations, stride: 4, offset: 1 };
    case 'rot_2': return { array: scene.rotations, stride: 4, offset: 2 };
    case 'rot_3': return { array: scene.rotations, stride: 4, offset: 3 };
    case 'opacity': return { array: scene.opacities, stride: 1, offset: 0 };
    case 'f_dc_0': return { array: scene.sh0, stride: 3, offset: 0 };
    case 'f_dc_1': return { array: scene.sh0, stride: 3, offset: 1 };
    case 'f_dc_2': return { array: scene.sh0, stride: 3, offset: 2 };
  }
  const m = REST_RE.exec(name);
  if (m) return { array: scene.shRest, stride: restStride, offset: Number(m[1]) };
  return undefined;
}

type Getter = (dv: DataView, offset: number) => number;

function getterFor(type: PlyScalarType, littleEndian: boolean): Getter {
  switch (type) {
    case 'char': return (dv, o) => dv.getInt8(o);
    case 'uchar': return (dv, o) => dv.getUint8(o);
    case 'short': return (dv, o) => dv.getInt16(o, littleEndian);
    case 'ushort': return (dv, o) => dv.getUint16(o, littleEndian);
    case 'int': return (dv, o) => dv.getInt32(o, littleEndian);
    case 'uint': return (dv, o) => dv.getUint32(o, littleEndian);
    case 'float': return (dv, o) => dv.getFloat32(o, littleEndian);
    case 'double': return (dv, o) => dv.getFloat64(o, littleEndian);
  }
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** True when the property's bits can be copied as-is: a 4-byte type landing in an array of that type. */
function isWordCopy(t: PropertyTarget): boolean {
  return (
    (t.type === 'float' && t.array instanceof Float32Array) ||
    (t.type === 'int' && t.array instanceof Int32Array) ||
    (t.type === 'uint' && t.array instanceof Uint32Array)
  );
}

/** A view of the target's backing memory as 32-bit words (only for 4-byte-element arrays). */
function wordView(a: ScalarArray): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.byteLength >>> 2);
}

/** Consecutive 4-byte properties that land in consecutive slots of one array, copied together. */
export interface WordRun {
  dst: Uint32Array;
  stride: number;
  offset: number;
  /** Word index of the run's first property within a PLY row. */
  srcWord: number;
  length: number;
  /** The run holds float32 values (checked for NaN/Inf while copying). */
  float: boolean;
}

/** Groups targets into runs; `byteOffsets[p]` is property p's byte offset within a row. */
export function wordRuns(targets: PropertyTarget[], byteOffsets: number[]): WordRun[] {
  const runs: WordRun[] = [];
  let last: (WordRun & { array: ScalarArray }) | undefined;
  targets.forEach((t, p) => {
    const srcWord = byteOffsets[p]! >>> 2;
    if (last && last.array === t.array && last.float === (t.type === 'float') && last.stride === t.stride && last.offset + last.length === t.offset && last.srcWord + last.length === srcWord) {
      last.length++;
      return;
    }
    last = { array: t.array, dst: wordView(t.array), stride: t.stride, offset: t.offset, srcWord, length: 1, float: t.type === 'float' };
    runs.push(last);
  });
  return runs;
}

/**
 * Decodes binary vertex rows into the scene planned by {@link planPlyScene}. When every property
 * is a 4-byte scalar stored little endian, rows are copied as 32-bit words per property (exact
 * bits, no float conversion, no DataView); otherwise a per-type DataView path is used.
 */
export class PlyRowDecoder {
  readonly rowBytes: number;
  private readonly wordPath: boolean;
  private readonly runs: WordRun[] = [];
  private readonly getters: Getter[];
  private readonly offsets: number[];
  private scratch: Uint32Array | undefined;

  constructor(private readonly targets: PropertyTarget[], littleEndian: boolean) {
    this.offsets = [];
    let off = 0;
    for (const t of targets) {
      this.offsets.push(off);
      off += PLY_TYPE_SIZE[t.type];
    }
    this.rowBytes = off;
    // Bits are copied only where no conversion is needed: an `int x` lands in the float positions
    // and must be converted, so it takes the DataView path.
    this.wordPath = littleEndian === HOST_LITTLE_ENDIAN && littleEndian && targets.every(isWordCopy);
    if (this.wordPath) this.runs = wordRuns(targets, this.offsets);
    this.getters = targets.map((t) => getterFor(t.type, littleEndian));
  }

  /**
   * Decodes `rows` rows stored contiguously in `bytes` into scene rows firstRow... Returns how many
   * float values were NaN or infinite when the fast path could tell (0 means the rows are clean),
   * or -1 when the caller must scan for itself.
   */
  decodeRows(bytes: Uint8Array, firstRow: number, rows: number): number {
    if (this.wordPath) {
      let words: Uint32Array;
      const nWords = (rows * this.rowBytes) >>> 2;
      if ((bytes.byteOffset & 3) === 0) {
        words = new Uint32Array(bytes.buffer, bytes.byteOffset, nWords);
      } else {
        // Unaligned input (a Buffer slice): copy into an aligned scratch once per chunk.
        if (!this.scratch || this.scratch.length < nWords) this.scratch = new Uint32Array(nWords);
        new Uint8Array(this.scratch.buffer, 0, nWords * 4).set(bytes.subarray(0, nWords * 4));
        words = this.scratch;
      }
      return this.decodeWords(words, firstRow, rows);
    }
    const dv = new DataView(bytes.buffer, bytes.byteOffset, rows * this.rowBytes);
    const targets = this.targets;
    for (let p = 0; p < targets.length; p++) {
      const t = targets[p]!;
      const get = this.getters[p]!;
      const a = t.array;
      const s = t.stride;
      let di = firstRow * s + t.offset;
      let si = this.offsets[p]!;
      for (let r = 0; r < rows; r++) {
        a[di] = get(dv, si);
        di += s;
        si += this.rowBytes;
      }
    }
    return -1;
  }

  private decodeWords(words: Uint32Array, firstRow: number, rows: number): number {
    const rowWords = this.rowBytes >>> 2;
    const runs = this.runs;
    let nonFinite = 0;
    // Runs are copied block by block: a block of rows (about 128 KB) stays in cache while each run
    // (x y z, the 45 f_rest values, ...) is copied from it, so the chunk is fetched from memory once
    // rather than once per property, which kept a per-property decoder memory-bound. Float words
    // are checked for an all-ones exponent (NaN/Inf) on the way, sparing a second pass.
    const block = Math.max(1, Math.floor(32768 / rowWords));
    for (let b0 = 0; b0 < rows; b0 += block) {
      const b1 = Math.min(rows, b0 + block);
      for (let q = 0; q < runs.length; q++) {
        const run = runs[q]!;
        const dst = run.dst;
        const s = run.stride;
        const len = run.length;
        const mask = run.float ? 0x7f800000 : 0;
        let di = (firstRow + b0) * s + run.offset;
        let si = b0 * rowWords + run.srcWord;
        if (len === 1) {
          for (let r = b0; r < b1; r++) {
            const w = words[si]!;
            dst[di] = w;
            if ((w & mask) === 0x7f800000) nonFinite++;
            di += s;
            si += rowWords;
          }
        } else {
          for (let r = b0; r < b1; r++) {
            for (let k = 0; k < len; k++) {
              const w = words[si + k]!;
              dst[di + k] = w;
              if ((w & mask) === 0x7f800000) nonFinite++;
            }
            di += s;
            si += rowWords;
          }
        }
      }
    }
    return nonFinite;
  }

  /** Sets one value from ASCII text (already parsed to a number). */
  setValue(property: number, row: number, value: number): void {
    const t = this.targets[property]!;
    t.array[row * t.stride + t.offset] = value;
  }
}

/** Byte offset of `element`'s data, or undefined if an earlier element has variable-size rows. */
export function elementDataOffset(header: PlyHeader, element: PlyElement): number | undefined {
  let off = header.headerBytes;
  for (const e of header.elements) {
    if (e === element) return off;
    const rb = plyRowBytes(e);
    if (rb === undefined) return undefined;
    off += rb * e.count;
  }
  return undefined;
}

/**
 * Total size a binary PLY must have, or a lower bound when an element after the vertices has list
 * properties (its size cannot be known without reading it).
 */
export function expectedBinarySize(header: PlyHeader): { size: number; exact: boolean } {
  let size = header.headerBytes;
  for (const e of header.elements) {
    const rb = plyRowBytes(e);
    if (rb === undefined) return { size, exact: false };
    size += rb * e.count;
  }
  return { size, exact: true };
}

export function findVertexElement(header: PlyHeader, path: string | undefined): PlyElement {
  const vertex = header.elements.find((e) => e.name === 'vertex');
  if (!vertex) {
    throw new SagaError('BAD_HEADER', `${where(path)}the PLY file has no 'vertex' element, so it holds no Gaussians. Choose a 3DGS scene file.`, { path });
  }
  return vertex;
}

/**
 * Checks the declared sizes against the actual byte length before anything is allocated.
 * @returns the byte offset of the vertex data.
 */
export function checkBinaryPlySize(header: PlyHeader, vertex: PlyElement, fileSize: number, path: string | undefined): number {
  const vertexOffset = elementDataOffset(header, vertex);
  if (vertexOffset === undefined) {
    throw new SagaError('UNSUPPORTED_FORMAT', `${where(path)}an element before the vertices has list properties (a mesh?), which a Gaussian splat file never has. Export the scene as a 3DGS PLY.`, { path });
  }
  const { size, exact } = expectedBinarySize(header);
  if (fileSize < size) {
    const rowBytes = plyRowBytes(vertex) ?? 1;
    const rowsPresent = Math.max(0, Math.floor((fileSize - vertexOffset) / rowBytes));
    throw new SagaError(
      'TRUNCATED',
      `${where(path)}the file is truncated: its header declares ${vertex.count.toLocaleString('en-US')} Gaussians (${size.toLocaleString('en-US')} bytes) but it has ${fileSize.toLocaleString('en-US')} bytes${rowsPresent < vertex.count ? ` (about ${rowsPresent.toLocaleString('en-US')} Gaussians)` : ''}. Copy or download the file again.`,
      { path, expected: size, actual: fileSize },
    );
  }
  if (exact && fileSize > size) {
    throw new SagaError(
      'SIZE_MISMATCH',
      `${where(path)}the file has ${(fileSize - size).toLocaleString('en-US')} bytes more than its header declares (${vertex.count.toLocaleString('en-US')} Gaussians). The header's vertex count is wrong or the file is corrupt; re-export the scene.`,
      { path, expected: size, actual: fileSize },
    );
  }
  return vertexOffset;
}

/** Parses the ASCII body of a PLY into the planned scene. `body` starts right after the header. */
export function decodeAsciiPly(header: PlyHeader, vertex: PlyElement, decoder: PlyRowDecoder, body: Uint8Array, path: string | undefined): void {
  const text = new TextDecoder('latin1').decode(body);
  let pos = 0;
  const nextLine = (): string | undefined => {
    while (pos < text.length) {
      let end = text.indexOf('\n', pos);
      if (end < 0) end = text.length;
      const line = text.slice(pos, end).trim();
      pos = end + 1;
      if (line !== '') return line;
    }
    return undefined;
  };
  for (const e of header.elements) {
    if (e === vertex) break;
    for (let i = 0; i < e.count; i++) {
      if (nextLine() === undefined) throw asciiTruncated(path, 0, vertex.count);
    }
  }
  const nProps = vertex.properties.length;
  for (let row = 0; row < vertex.count; row++) {
    const line = nextLine();
    if (line === undefined) throw asciiTruncated(path, row, vertex.count);
    const parts = line.split(/\s+/);
    if (parts.length !== nProps) {
      throw new SagaError('BAD_HEADER', `${where(path)}row ${row} of the ASCII PLY has ${parts.length} values but the header declares ${nProps} properties. Re-export the scene.`, { path, row });
    }
    for (let p = 0; p < nProps; p++) {
      const token = parts[p]!;
      let v = Number(token);
      // C's printf writes inf, -inf and nan, which Number() does not parse.
      if (Number.isNaN(v) && /^[-+]?inf(inity)?$/i.test(token)) v = token.startsWith('-') ? -Infinity : Infinity;
      if (Number.isNaN(v) && !/^[-+]?nan(\(\w*\))?$/i.test(token)) {
        throw new SagaError('BAD_HEADER', `${where(path)}row ${row} of the ASCII PLY holds '${token.slice(0, 20)}', which is not a number. Re-export the scene.`, { path, row });
      }
      decoder.setValue(p, row, v);
    }
  }
}

function asciiTruncated(path: string | undefined, rows: number, declared: number): SagaError {
  return new SagaError('TRUNCATED', `${where(path)}the ASCII PLY ends after ${rows.toLocaleString('en-US')} of ${declared.toLocaleString('en-US')} declared Gaussians. Copy or export the file again.`, { path, rows, declared });
}
