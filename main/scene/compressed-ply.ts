/**
 * PlayCanvas / SuperSplat compressed PLY: Gaussians in blocks of 256 sharing min/max bounds (the
 * `chunk` element), each packed into four uint32 words (`packed_position` 11/10/11 bits,
 * `packed_rotation` smallest-three 2+10/10/10, `packed_scale` 11/10/11, `packed_color` RGBA 8 bits),
 * with optional `sh` element of uchar f_rest_* values.
 */
import { SagaError } from '../contract/errors.ts';
import { type GaussianScene, type ShDegree, SH_C0, createScene, shDegreeFromRestPerChannel, shRestPerChannel } from './gaussians.ts';
import { PLY_TYPE_SIZE, type PlyElement, type PlyHeader, plyRowBytes } from './ply-header.ts';
import { checkBinaryPlySize, elementDataOffset } from './ply.ts';
import { type ReadOptions, checkSplatCount, where } from './read-options.ts';

const CHUNK_SPLATS = 256;

/** A PLY is the compressed layout when its vertices carry packed words and a chunk element exists. */
export function isCompressedPlyHeader(header: PlyHeader): boolean {
  const vertex = header.elements.find((e) => e.name === 'vertex');
  return !!vertex && vertex.properties.some((p) => p.name === 'packed_position') && header.elements.some((e) => e.name === 'chunk');
}

function unorm(value: number, bits: number): number {
  const max = (1 << bits) - 1;
  return (value & max) / max;
}

function lerp(a: number, b: number, t: number): number {
  return a * (1 - t) + b * t;
}

/** Opacity logit of an 8-bit alpha, kept finite at 0 and 255 (where the exact logit is ±Infinity). */
export function alphaByteToLogit(byte: number): number {
  const a = Math.min(1 - 1e-6, Math.max(1e-6, byte / 255));
  return Math.log(a / (1 - a));
}

const ALPHA_LOGIT = Float32Array.from({ length: 256 }, (_, b) => alphaByteToLogit(b));

/** Reads a float column of an element whose rows are all float32 (the chunk bounds). */
function floatColumns(bytes: Uint8Array, offset: number, element: PlyElement, littleEndian: boolean, path: string | undefined): Map<string, Float32Array> {
  const cols = new Map<string, Float32Array>();
  const nProps = element.properties.length;
  if (element.properties.some((p) => p.type !== 'float')) {
    throw new SagaError('BAD_HEADER', `${where(path)}the compressed PLY 'chunk' element has non-float properties. Re-export the scene from SuperSplat or splat-transform.`, { path });
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset + offset, element.count * nProps * 4);
  element.properties.forEach((p, k) => {
    const col = new Float32Array(element.count);
    for (let i = 0; i < element.count; i++) col[i] = dv.getFloat32((i * nProps + k) * 4, littleEndian);
    cols.set(p.name, col);
  });
  return cols;
}

/** Decodes a whole compressed PLY held in memory. The header has already been parsed. */
export function decodeCompressedPly(bytes: Uint8Array, header: PlyHeader, options: ReadOptions | undefined, path: string | undefined): GaussianScene {
  if (header.encoding === 'ascii') {
    throw new SagaError('UNSUPPORTED_FORMAT', `${where(path)}an ASCII compressed PLY is not a format any tool writes. Re-export the scene.`, { path });
  }
  const little = header.encoding === 'binary_little_endian';
  const chunkEl = header.elements.find((e) => e.name === 'chunk')!;
  const vertexEl = header.elements.find((e) => e.name === 'vertex')!;
  const shEl = header.elements.find((e) => e.name === 'sh');
  const n = vertexEl.count;
  for (const el of [chunkEl, vertexEl, ...(shEl ? [shEl] : [])]) {
    if (plyRowBytes(el) === undefined) throw new SagaError('BAD_HEADER', `${where(path)}the compressed PLY element '${el.name}' has list properties. Re-export the scene.`, { path });
  }
  checkBinaryPlySize(header, vertexEl, bytes.length, path);
  checkSplatCount(n, options, path);
  const expectedChunks = Math.ceil(n / CHUNK_SPLATS);
  if (chunkEl.count !== expectedChunks) {
    throw new SagaError('SIZE_MISMATCH', `${where(path)}the compressed PLY has ${chunkEl.count} chunks for ${n} Gaussians; it needs ${expectedChunks} (one per 256). The file is corrupt; re-export it.`, { path });
  }
  if (shEl && shEl.count !== n) {
    throw new SagaError('SIZE_MISMATCH', `${where(path)}the compressed PLY has ${shEl.count} SH rows for ${n} Gaussians. The file is corrupt; re-export it.`, { path });
  }
  const vRow = plyRowBytes(vertexEl)!;
  const byteOffsetOf = (name: string): number => {
    let off = 0;
    for (const p of vertexEl.properties) {
      if (p.name === name && (p.type === 'uint' || p.type === 'int')) return off;
      off += PLY_TYPE_SIZE[p.type];
    }
    throw new SagaError('BAD_HEADER', `${where(path)}the compressed PLY vertex element lacks a 32-bit '${name}'. Re-export the scene.`, { path });
  };
  const oPos = byteOffsetOf('packed_position');
  const oRot = byteOffsetOf('packed_rotation');
  const oScale = byteOffsetOf('packed_scale');
  const oColor = byteOffsetOf('packed_color');

  const restCount = shEl ? shEl.properties.length : 0;
  const degree = restCount % 3 === 0 ? shDegreeFromRestPerChannel(restCount / 3) : undefined;
  if (degree === undefined) {
    throw new SagaError('BAD_HEADER', `${where(path)}the compressed PLY has ${restCount} SH values per Gaussian; expected 0, 9, 24 or 45. Re-export the scene.`, { path });
  }
  const chunkOffset = elementDataOffset(header, chunkEl)!;
  const vertexOffset = elementDataOffset(header, vertexEl)!;
  const shOffset = shEl ? elementDataOffset(header, shEl)! : 0;
  const bounds = floatColumns(bytes, chunkOffset, chunkEl, little, path);
  const col = (name: string): Float32Array => {
    const c = bounds.get(name);
    if (!c) throw new SagaError('BAD_HEADER', `${where(path)}the compressed PLY chunk element lacks '${name}'. Re-export the scene.`, { path });
    return c;
  };
  const minX = col('min_x'), minY = col('min_y'), minZ = col('min_z');
  const maxX = col('max_x'), maxY = col('max_y'), maxZ = col('max_z');
  const minSX = col('min_scale_x'), minSY = col('min_scale_y'), minSZ = col('min_scale_z');
  const maxSX = col('max_scale_x'), maxSY = col('max_scale_y'), maxSZ = col('max_scale_z');
  // Colour bounds were added in later SuperSplat versions; older files store colour directly.
  const hasColorBounds = bounds.has('min_r');
  const minR = hasColorBounds ? col('min_r') : undefined, minG = hasColorBounds ? col('min_g') : undefined, minB = hasColorBounds ? col('min_b') : undefined;
  const maxR = hasColorBounds ? col('max_r') : undefined, maxG = hasColorBounds ? col('max_g') : undefined, maxB = hasColorBounds ? col('max_b') : undefined;

  const scene = createScene(n, degree as ShDegree);
  const { positions, rotations, scales, opacities, sh0, shRest } = scene;
  const dv = new DataView(bytes.buffer, bytes.byteOffset + vertexOffset, n * vRow);
  const rotNorm = 1 / (Math.SQRT2 * 0.5);
  for (let i = 0; i < n; i++) {
    const c = i >> 8;
    const base = i * vRow;
    const pp = dv.getUint32(base + oPos, little);
    positions[i * 3] = lerp(minX[c]!, maxX[c]!, unorm(pp >>> 21, 11));
    positions[i * 3 + 1] = lerp(minY[c]!, maxY[c]!, unorm(pp >>> 11, 10));
    positions[i * 3 + 2] = lerp(minZ[c]!, maxZ[c]!, unorm(pp, 11));
    const pr = dv.getUint32(base + oRot, little);
    const a = (unorm(pr >>> 20, 10) - 0.5) * rotNorm;
    const b = (unorm(pr >>> 10, 10) - 0.5) * rotNorm;
    const d = (unorm(pr, 10) - 0.5) * rotNorm;
    const m = Math.sqrt(Math.max(0, 1 - (a * a + b * b + d * d)));
    // The three stored components fill the slots other than the largest, in w x y z order.
    const o = i * 4;
    switch (pr >>> 30) {
      case 0: rotations[o] = m; rotations[o + 1] = a; rotations[o + 2] = b; rotations[o + 3] = d; break;
      case 1: rotations[o] = a; rotations[o + 1] = m; rotations[o + 2] = b; rotations[o + 3] = d; break;
      case 2: rotations[o] = a; rotations[o + 1] = b; rotations[o + 2] = m; rotations[o + 3] = d; break;
      default: rotations[o] = a; rotations[o + 1] = b; rotations[o + 2] = d; rotations[o + 3] = m;
    }
    const ps = dv.getUint32(base + oScale, little);
    scales[i * 3] = lerp(minSX[c]!, maxSX[c]!, unorm(ps >>> 21, 11));
    scales[i * 3 + 1] = lerp(minSY[c]!, maxSY[c]!, unorm(ps >>> 11, 10));
    scales[i * 3 + 2] = lerp(minSZ[c]!, maxSZ[c]!, unorm(ps, 11));
    const pc = dv.getUint32(base + oColor, little);
    const cr = unorm(pc >>> 24, 8), cg = unorm(pc >>> 16, 8), cb = unorm(pc >>> 8, 8);
    const r = minR ? lerp(minR[c]!, maxR![c]!, cr) : cr;
    const g = minG ? lerp(minG[c]!, maxG![c]!, cg) : cg;
    const bl = minB ? lerp(minB[c]!, maxB![c]!, cb) : cb;
    sh0[i * 3] = (r - 0.5) / SH_C0;
    sh0[i * 3 + 1] = (g - 0.5) / SH_C0;
    sh0[i * 3 + 2] = (bl - 0.5) / SH_C0;
    opacities[i] = ALPHA_LOGIT[pc & 0xff]!;
  }
  if (shEl && restCount > 0) {
    const shRow = plyRowBytes(shEl)!;
    const restStride = 3 * shRestPerChannel(degree as ShDegree);
    // f_rest_k may be in any order in the header: map each column to its coefficient index.
    const colOf: number[] = [];
    let off = 0;
    for (const p of shEl.properties) {
      const mm = /^f_rest_(\d+)$/.exec(p.name);
      if (!mm || p.type !== 'uchar' || Number(mm[1]) >= restStride) {
        throw new SagaError('BAD_HEADER', `${where(path)}the compressed PLY 'sh' element has an unexpected property '${p.name}' (${p.type}). Re-export the scene.`, { path });
      }
      colOf[Number(mm[1])] = off;
      off += 1;
    }
    for (let k = 0; k < restStride; k++) {
      if (colOf[k] === undefined) throw new SagaError('BAD_HEADER', `${where(path)}the compressed PLY 'sh' element lacks f_rest_${k}. Re-export the scene.`, { path });
    }
    for (let i = 0; i < n; i++) {
      const rowBase = shOffset + i * shRow;
      for (let k = 0; k < restStride; k++) {
        const byte = bytes[rowBase + colOf[k]!]!;
        // SuperSplat maps 0 and 255 to the range ends and other bytes to bucket centres.
        const t = byte === 0 ? 0 : byte === 255 ? 1 : (byte + 0.5) / 256;
        shRest[i * restStride + k] = (t - 0.5) * 8;
      }
    }
  }
  scene.source = { format: 'compressed-ply', path };
  return scene;
}
