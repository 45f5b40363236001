/**
 * Niantic `.spz`, versions 2 to 4. Versions 2-3 are one gzip stream: a 16-byte header (magic 'NGSP', version,
 * count, SH degree, fractional bits, flags) then attribute blocks: positions (24-bit fixed point),
 * alphas, colours, scales, rotations (v2: first three bytes xyz; v3+: smallest-three in 32 bits)
 * and SH (coefficient-major, channel-inner). Version 4 as nianticlabs/spz now writes it keeps a
 * 32-byte header uncompressed and compresses each block as its own ZSTD stream.
 *
 * SPZ stores right-up-back (RUB, OpenGL) axes while 3DGS PLY uses right-down-front (RDF, OpenCV):
 * converting flips y and z of positions, the quaternion's y and z, and the SH coefficients whose
 * basis function is odd in y or z — the same flips the reference library (nianticlabs/spz) applies.
 */
import { constants as zlibConstants, gunzipSync, gzipSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { SagaError } from '../contract/errors.ts';
import { type GaussianScene, type ShDegree, createScene, shRestPerChannel, sigmoid } from './gaussians.ts';
import { alphaByteToLogit } from './compressed-ply.ts';
import { type ReadOptions, checkSplatCount, where } from './read-options.ts';

const SPZ_MAGIC = 0x5053474e; // 'NGSP' little endian
const HEADER_BYTES = 16;
const FLAG_ANTIALIASED = 0x1;
const FLAG_EXTENSIONS = 0x2;
/** The SPZ reference loader refuses more points than this; so do we (it also bounds gunzip output). */
const MAX_SPZ_POINTS = 10_000_000;
const COLOR_SCALE = 0.15;

/** Per-axis sign changes between RUB and RDF (x kept, y and z flipped). */
const FLIP = { x: 1, y: -1, z: -1 } as const;
const FLIP_POS = [FLIP.x, FLIP.y, FLIP.z];
/** Quaternion x, y, z signs: a reflection pair acts on the vector part as (y*z, x*z, x*y). */
const FLIP_QUAT = [FLIP.y * FLIP.z, FLIP.x * FLIP.z, FLIP.x * FLIP.y];
/** Sign of each real SH basis function (degree 1..3, 15 per channel) under the axis flips. */
const FLIP_SH = (() => {
  const { x, y, z } = FLIP;
  return [y, z, x, x * y, y * z, 1, x * z, 1, y, x * y * z, y, z, x, z, x];
})();

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function gzipError(e: unknown, path: string | undefined): SagaError {
  const message = e instanceof Error ? e.message : String(e);
  if (/unexpected end/i.test(message)) {
    return new SagaError('TRUNCATED', `${where(path)}the .spz file is truncated (its compressed data ends early). Copy or download it again.`, { path });
  }
  return new SagaError('BAD_HEADER', `${where(path)}the .spz file's compressed data is corrupt (${message}). Copy or export it again.`, { path });
}

/** Deflate never expands more than about 1032:1; a count needing more is impossible for the file size. */
const MAX_DEFLATE_RATIO = 1032;

/**
 * The first bytes of the gzip stream (at least the 16-byte header when the file has them), from
 * small prefixes of the compressed data: enough to check the declared count against the file size
 * before inflating everything, so a tiny corrupt file cannot make us allocate hundreds of MB.
 */
function inflateHeader(bytes: Uint8Array, path: string | undefined): Uint8Array {
  let out = new Uint8Array(0);
  for (let len = 64; ; len *= 4) {
    const prefix = bytes.subarray(0, Math.min(len, bytes.length));
    try {
      // Z_SYNC_FLUSH returns what a partial stream decodes to instead of failing on its end.
      out = gunzipSync(prefix, { finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength: 1 << 22 });
    } catch (e) {
      if (e instanceof RangeError) return out; // a prefix expanding beyond 4 MB: the header came earlier
      throw gzipError(e, path);
    }
    if (out.length >= HEADER_BYTES || prefix.length === bytes.length) return out;
  }
}

function inflate(bytes: Uint8Array, expected: number, path: string | undefined): Uint8Array {
  try {
    return gunzipSync(bytes, { maxOutputLength: expected + 1 });
  } catch (e) {
    if (e instanceof RangeError) {
      throw new SagaError('SIZE_MISMATCH', `${where(path)}the .spz unpacks to more data than its header declares (${expected.toLocaleString('en-US')} bytes). The header count is wrong or the file is corrupt.`, { path });
    }
    throw gzipError(e, path);
  }
}

interface SpzHeader {
  version: number;
  count: number;
  shDegree: ShDegree;
  fractionalBits: number;
  flags: number;
}

/** The attribute blocks of a .spz, each exactly the size its header implies. */
interface SpzStreams extends SpzHeader {
  positions: Uint8Array;
  alphas: Uint8Array;
  colors: Uint8Array;
  scales: Uint8Array;
  rotations: Uint8Array;
  sh: Uint8Array;
}

function parseSpzHeader(dv: DataView, path: string | undefined): SpzHeader {
  if (dv.getUint32(0, true) !== SPZ_MAGIC) {
    throw new SagaError('BAD_HEADER', `${where(path)}the .spz data does not start with the 'NGSP' magic. It is not a Niantic .spz file.`, { path });
  }
  const version = dv.getUint32(4, true);
  const count = dv.getUint32(8, true);
  const shDegree = dv.getUint8(12);
  const fractionalBits = dv.getUint8(13);
  const flags = dv.getUint8(14);
  if (version < 2 || version > 4) {
    throw new SagaError('UNSUPPORTED_FORMAT', `${where(path)}.spz version ${version} is not supported (versions 2 to 4 are). Re-export it with a current SPZ tool.`, { path, version });
  }
  if (shDegree > 3) {
    throw new SagaError('UNSUPPORTED_FORMAT', `${where(path)}the .spz has SH degree ${shDegree}; this app handles degrees 0 to 3. Re-export it with SH degree 3 or less.`, { path, shDegree });
  }
  if (flags & FLAG_EXTENSIONS) {
    throw new SagaError('UNSUPPORTED_FORMAT', `${where(path)}the .spz uses format extensions (such as custom SH quantisation) that this app cannot read yet. Export it without extensions or as a PLY.`, { path });
  }
  if (fractionalBits > 23) {
    throw new SagaError('BAD_HEADER', `${where(path)}the .spz declares ${fractionalBits} fractional position bits (at most 23 fit in 24 bits). The file is corrupt.`, { path });
  }
  if (count > MAX_SPZ_POINTS) {
    throw new SagaError('TOO_LARGE', `${where(path)}the .spz declares ${count.toLocaleString('en-US')} Gaussians, more than the ${MAX_SPZ_POINTS.toLocaleString('en-US')} the format allows. The file is corrupt.`, { path });
  }
  return { version, count, shDegree: shDegree as ShDegree, fractionalBits, flags };
}

/** Byte sizes of the six attribute blocks, in file order. */
function blockSizes(h: SpzHeader): number[] {
  const n = h.count;
  return [n * 9, n, n * 3, n * 3, n * (h.version >= 3 ? 4 : 3), n * 3 * shRestPerChannel(h.shDegree)];
}

function streamsFrom(h: SpzHeader, blocks: Uint8Array[]): SpzStreams {
  const [positions, alphas, colors, scales, rotations, sh] = blocks as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  return { ...h, positions, alphas, colors, scales, rotations, sh };
}

/** Versions 2 and 3 (and early 4): one gzip stream holding a 16-byte header and the blocks in order. */
function gzipStreams(bytes: Uint8Array, path: string | undefined): SpzStreams {
  const head = inflateHeader(bytes, path);
  if (head.length < HEADER_BYTES) {
    throw new SagaError('TRUNCATED', `${where(path)}the .spz data is shorter than its 16-byte header. Copy or export the file again.`, { path });
  }
  const h = parseSpzHeader(new DataView(head.buffer, head.byteOffset, head.length), path);
  const sizes = blockSizes(h);
  const expected = HEADER_BYTES + sizes.reduce((a, b) => a + b, 0);
  if (expected > bytes.length * MAX_DEFLATE_RATIO) {
    throw new SagaError('TRUNCATED', `${where(path)}the .spz declares ${h.count.toLocaleString('en-US')} Gaussians, which cannot fit in its ${bytes.length.toLocaleString('en-US')} compressed bytes. The file is truncated or corrupt; copy or export it again.`, { path });
  }
  const data = inflate(bytes, expected, path);
  if (data.length < expected) {
    throw new SagaError('TRUNCATED', `${where(path)}the .spz declares ${h.count.toLocaleString('en-US')} Gaussians but holds only ${data.length.toLocaleString('en-US')} of the ${expected.toLocaleString('en-US')} bytes they need. Copy or export it again.`, { path });
  }
  if (data.length > expected) {
    throw new SagaError('SIZE_MISMATCH', `${where(path)}the .spz holds ${(data.length - expected).toLocaleString('en-US')} bytes more than its ${h.count.toLocaleString('en-US')} Gaussians need. The header count is wrong or the file is corrupt.`, { path });
  }
  const blocks: Uint8Array[] = [];
  let off = HEADER_BYTES;
  for (const size of sizes) {
    blocks.push(data.subarray(off, off + size));
    off += size;
  }
  return streamsFrom(h, blocks);
}

const V4_HEADER_BYTES = 32;

/**
 * Version 4 container (nianticlabs/spz's current default): an uncompressed 32-byte header
 * (adds the stream count at byte 15 and the table-of-contents offset at 16), then per stream a
 * (compressed size, uncompressed size) pair of u64, then the ZSTD-compressed streams.
 */
function zstdStreams(bytes: Uint8Array, path: string | undefined): SpzStreams {
  if (bytes.length < V4_HEADER_BYTES) {
    throw new SagaError('TRUNCATED', `${where(path)}the .spz is shorter than its 32-byte header. Copy or export the file again.`, { path });
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const h = parseSpzHeader(dv, path);
  if (h.version < 4) {
    throw new SagaError('BAD_HEADER', `${where(path)}a version ${h.version} .spz must be gzip-compressed, but this one is not. The file is corrupt.`, { path });
  }
  const sizes = blockSizes(h);
  const streamCount = dv.getUint8(15);
  const tocOffset = dv.getUint32(16, true);
  const wanted = h.shDegree === 0 ? 5 : 6;
  if (streamCount !== wanted || tocOffset < V4_HEADER_BYTES) {
    throw new SagaError('BAD_HEADER', `${where(path)}the .spz header lists ${streamCount} data streams at offset ${tocOffset}; SH degree ${h.shDegree} needs ${wanted}. The file is corrupt.`, { path });
  }
  let dataOffset = tocOffset + streamCount * 16;
  if (dataOffset > bytes.length) {
    throw new SagaError('TRUNCATED', `${where(path)}the .spz ends inside its table of contents. Copy or export it again.`, { path });
  }
  const blocks: Uint8Array[] = [];
  for (let k = 0; k < 6; k++) {
    if (k >= streamCount) {
      blocks.push(new Uint8Array(0)); // no SH stream at degree 0
      continue;
    }
    const compressed = Number(dv.getBigUint64(tocOffset + k * 16, true));
    const uncompressed = Number(dv.getBigUint64(tocOffset + k * 16 + 8, true));
    if (uncompressed !== sizes[k]) {
      throw new SagaError('SIZE_MISMATCH', `${where(path)}.spz stream ${k} unpacks to ${uncompressed} bytes but ${h.count.toLocaleString('en-US')} Gaussians need ${sizes[k]}. The file is corrupt.`, { path });
    }
    if (dataOffset + compressed > bytes.length) {
      throw new SagaError('TRUNCATED', `${where(path)}the .spz ends inside data stream ${k}. Copy or download it again.`, { path });
    }
    const out = new Uint8Array(uncompressed);
    let produced: Uint8Array;
    try {
      // Decoding into a buffer of the declared size bounds memory whatever the stream claims.
      produced = zstdDecompress(bytes.subarray(dataOffset, dataOffset + compressed), out);
    } catch (e) {
      throw new SagaError('BAD_HEADER', `${where(path)}.spz data stream ${k} is corrupt (${e instanceof Error ? e.message : String(e)}). Copy or export the file again.`, { path });
    }
    if (produced.length !== uncompressed) {
      throw new SagaError('TRUNCATED', `${where(path)}.spz data stream ${k} unpacked to ${produced.length} of ${uncompressed} bytes. Copy or export the file again.`, { path });
    }
    blocks.push(produced);
    dataOffset += compressed;
  }
  return streamsFrom(h, blocks);
}

/** Decodes a `.spz` held in memory into a scene in PLY (RDF) axes. */
export function decodeSpz(bytes: Uint8Array, options: ReadOptions | undefined, path: string | undefined): GaussianScene {
  let streams: SpzStreams;
  if (isGzip(bytes)) {
    streams = gzipStreams(bytes, path);
  } else if (bytes.length >= 4 && new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) === SPZ_MAGIC) {
    streams = zstdStreams(bytes, path);
  } else {
    throw new SagaError('BAD_HEADER', `${where(path)}this is not a .spz file (neither gzip data nor an 'NGSP' header). Check the file and its extension.`, { path });
  }
  const { count: n, shDegree, fractionalBits, flags, version } = streams;
  checkSplatCount(n, options, path);
  const perChannel = shRestPerChannel(shDegree);
  const rotBytes = version >= 3 ? 4 : 3;

  const scene = createScene(n, shDegree);
  const { positions, scales, rotations, opacities, sh0, shRest } = scene;
  const P = streams.positions, A = streams.alphas, C = streams.colors, S = streams.scales, R = streams.rotations, H = streams.sh;
  const posScale = 1 / (1 << fractionalBits);
  for (let i = 0; i < n * 3; i++) {
    const b = i * 3;
    let fixed = P[b]! | (P[b + 1]! << 8) | (P[b + 2]! << 16);
    if (fixed & 0x800000) fixed |= ~0xffffff; // sign-extend 24 bits
    positions[i] = FLIP_POS[i % 3]! * fixed * posScale;
  }
  for (let i = 0; i < n * 3; i++) scales[i] = S[i]! / 16 - 10;
  for (let i = 0; i < n; i++) opacities[i] = alphaByteToLogit(A[i]!);
  for (let i = 0; i < n * 3; i++) sh0[i] = (C[i]! / 255 - 0.5) / COLOR_SCALE;
  const rotView = new DataView(R.buffer, R.byteOffset, R.byteLength);
  const q = [0, 0, 0, 0]; // x y z w, the SPZ order
  for (let i = 0; i < n; i++) {
    if (rotBytes === 3) {
      const b = i * 3;
      q[0] = R[b]! / 127.5 - 1;
      q[1] = R[b + 1]! / 127.5 - 1;
      q[2] = R[b + 2]! / 127.5 - 1;
      q[3] = Math.sqrt(Math.max(0, 1 - (q[0]! * q[0]! + q[1]! * q[1]! + q[2]! * q[2]!)));
    } else {
      let comp = rotView.getUint32(i * 4, true);
      const largest = comp >>> 30;
      let sum = 0;
      for (let j = 3; j >= 0; j--) {
        if (j === largest) continue;
        const mag = comp & 511;
        const negative = (comp >>> 9) & 1;
        comp >>>= 10;
        const v = (Math.SQRT1_2 * mag) / 511;
        q[j] = negative ? -v : v;
        sum += v * v;
      }
      q[largest] = Math.sqrt(Math.max(0, 1 - sum));
    }
    rotations[i * 4] = q[3]!;
    rotations[i * 4 + 1] = FLIP_QUAT[0]! * q[0]!;
    rotations[i * 4 + 2] = FLIP_QUAT[1]! * q[1]!;
    rotations[i * 4 + 3] = FLIP_QUAT[2]! * q[2]!;
  }
  if (perChannel > 0) {
    const restStride = perChannel * 3;
    for (let i = 0; i < n; i++) {
      const src = i * restStride;
      const dst = i * restStride;
      for (let j = 0; j < perChannel; j++) {
        const sign = FLIP_SH[j]!;
        for (let c = 0; c < 3; c++) {
          shRest[dst + c * perChannel + j] = (sign * (H[src + j * 3 + c]! - 128)) / 128;
        }
      }
    }
  }
  scene.source = { format: 'spz', path, antialiased: (flags & FLAG_ANTIALIASED) !== 0 };
  return scene;
}

function toUint8(x: number): number {
  return x >= 255 ? 255 : x > 0 ? Math.round(x) : 0;
}

function quantizeSh(x: number, bucket: number): number {
  let q = Math.round(x * 128) + 128;
  q = Math.floor((q + bucket / 2) / bucket) * bucket;
  return q < 0 ? 0 : q > 255 ? 255 : q;
}

/**
 * Encodes a scene as a version 3 `.spz` (gzip; smallest-three rotations; 5-bit degree-1 and 4-bit
 * higher SH buckets, the reference encoder's defaults). Extras are dropped by the format.
 */
export function encodeSpz(scene: GaussianScene): Uint8Array {
  const n = scene.count;
  if (n === 0) throw new SagaError('EMPTY_SCENE', 'The scene has no Gaussians left to save. Undo the deletion or keep at least one splat.');
  if (n > MAX_SPZ_POINTS) throw new SagaError('TOO_LARGE', `A .spz file holds at most ${MAX_SPZ_POINTS.toLocaleString('en-US')} Gaussians; this scene has ${n.toLocaleString('en-US')}. Save it as a PLY instead.`);
  const perChannel = shRestPerChannel(scene.shDegree);
  const restStride = perChannel * 3;
  const fractionalBits = 12;
  const out = new Uint8Array(HEADER_BYTES + n * (9 + 1 + 3 + 3 + 4 + restStride));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, SPZ_MAGIC, true);
  dv.setUint32(4, 3, true);
  dv.setUint32(8, n, true);
  out[12] = scene.shDegree;
  out[13] = fractionalBits;
  out[14] = scene.source?.antialiased ? FLAG_ANTIALIASED : 0;
  let off = HEADER_BYTES;
  const posOff = off; off += n * 9;
  const alphaOff = off; off += n;
  const colorOff = off; off += n * 3;
  const scaleOff = off; off += n * 3;
  const rotOff = off; off += n * 4;
  const shOff = off;
  const limit = (1 << 23) - 1;
  for (let i = 0; i < n * 3; i++) {
    let fixed = Math.round(FLIP_POS[i % 3]! * scene.positions[i]! * (1 << fractionalBits));
    // Out-of-range or NaN positions clamp instead of wrapping around to the other side.
    fixed = fixed > limit ? limit : fixed < -limit ? -limit : fixed || 0;
    const b = posOff + i * 3;
    out[b] = fixed & 0xff;
    out[b + 1] = (fixed >> 8) & 0xff;
    out[b + 2] = (fixed >> 16) & 0xff;
  }
  for (let i = 0; i < n * 3; i++) out[scaleOff + i] = toUint8((scene.scales[i]! + 10) * 16);
  for (let i = 0; i < n; i++) out[alphaOff + i] = toUint8(sigmoid(scene.opacities[i]!) * 255);
  for (let i = 0; i < n * 3; i++) out[colorOff + i] = toUint8(scene.sh0[i]! * (COLOR_SCALE * 255) + 0.5 * 255);
  const q = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    const r = scene.rotations;
    const w = r[i * 4]!, x = r[i * 4 + 1]!, y = r[i * 4 + 2]!, z = r[i * 4 + 3]!;
    const len = Math.hypot(w, x, y, z) || 1;
    q[0] = (FLIP_QUAT[0]! * x) / len;
    q[1] = (FLIP_QUAT[1]! * y) / len;
    q[2] = (FLIP_QUAT[2]! * z) / len;
    q[3] = w / len;
    let largest = 0;
    for (let j = 1; j < 4; j++) if (Math.abs(q[j]!) > Math.abs(q[largest]!)) largest = j;
    const negate = q[largest]! < 0 ? 1 : 0;
    let comp = largest;
    for (let j = 0; j < 4; j++) {
      if (j === largest) continue;
      const negbit = (q[j]! < 0 ? 1 : 0) ^ negate;
      const mag = Math.min(511, Math.floor((511 * Math.abs(q[j]!)) / Math.SQRT1_2 + 0.5));
      comp = (comp << 10) | (negbit << 9) | mag;
    }
    dv.setUint32(rotOff + i * 4, comp >>> 0, true);
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < perChannel; j++) {
      const bucket = j < 3 ? 8 : 16;
      const sign = FLIP_SH[j]!;
      for (let c = 0; c < 3; c++) {
        out[shOff + i * restStride + j * 3 + c] = quantizeSh(sign * scene.shRest[i * restStride + c * perChannel + j]!, bucket);
      }
    }
  }
  return gzipSync(out);
}
