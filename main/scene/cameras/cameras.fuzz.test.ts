import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSagaError } from '../../contract/errors.ts';
import { lookAtCamera, type Camera } from '../camera.ts';
import {
  colmapToCameras,
  parseColmapCamerasBinary,
  parseColmapCamerasText,
  parseColmapImagesBinary,
  parseColmapImagesText,
} from './colmap.ts';
import { inriaCameraEntries, parseInriaCameras } from './inria.ts';
import { matrixToQuaternion, orthonormalityError } from './math.ts';
import { parseTransforms } from './transforms.ts';
import { mulberry32 as random } from '../../common/random.ts';

/**
 * Mutated and truncated camera files must give a BAD_CAMERAS error or valid cameras: never a
 * crash, a hang, another kind of error or a camera with impossible numbers.
 */

const CASES_PER_FORMAT = 500;


function mutateBytes(bytes: Uint8Array, rand: () => number): Uint8Array {
  const kind = Math.floor(rand() * 4);
  if (kind === 0) return bytes.slice(0, Math.floor(rand() * bytes.length)); // truncate
  const out = Uint8Array.from(bytes);
  const flips = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < flips; i++) {
    const at = Math.floor(rand() * out.length);
    // Overwrite with random, extreme or zero bytes: counts and sizes are where readers go wrong.
    out[at] = kind === 1 ? Math.floor(rand() * 256) : kind === 2 ? 0xff : 0;
  }
  return out;
}

const TEXT_NOISE = ['', ' ', '\n', '#', '-', '0', '1e999', 'NaN', '-1', '"', '[', '}', ',', 'null', '99999999999', '.', 'x'];

function mutateText(text: string, rand: () => number): string {
  let out = text;
  const edits = 1 + Math.floor(rand() * 3);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(rand() * out.length);
    const kind = rand();
    if (kind < 0.2) out = out.slice(0, at);
    else {
      const span = Math.floor(rand() * 6);
      out = out.slice(0, at) + TEXT_NOISE[Math.floor(rand() * TEXT_NOISE.length)]! + out.slice(at + (kind < 0.6 ? span : 0));
    }
  }
  return out;
}

function expectValidCamera(cam: Camera): void {
  const numbers = [cam.fx, cam.fy, cam.cx, cam.cy, ...cam.rotation, ...cam.translation, ...(cam.distortion?.params ?? [])];
  expect(numbers.every(Number.isFinite), `non-finite value in ${JSON.stringify(cam)}`).toBe(true);
  expect(cam.fx > 0 && cam.fy > 0).toBe(true);
  expect(Number.isInteger(cam.width) && cam.width > 0 && Number.isInteger(cam.height) && cam.height > 0).toBe(true);
  expect(cam.rotation.length).toBe(9);
  expect(orthonormalityError(cam.rotation)).toBeLessThan(1e-2);
  expect(cam.name.length).toBeGreaterThan(0);
}

/** Runs one case: only BAD_CAMERAS may escape, and whatever parses must be valid. */
async function check(parse: () => Camera[] | Promise<Camera[]>): Promise<'ok' | 'rejected'> {
  let cameras: Camera[];
  try {
    cameras = await parse();
  } catch (e) {
    if (!isSagaError(e, 'BAD_CAMERAS')) throw e;
    expect(e.message).toMatch(/^Cannot read cameras from /);
    return 'rejected';
  }
  cameras.forEach(expectValidCamera);
  return 'ok';
}

const VIEWS: Camera[] = [0, 1, 2, 3].map((i) =>
  lookAtCamera(`view_${i}`, [3 * Math.cos(i), 3 * Math.sin(i), 1 + i / 4], [0, 0, 0], [0, 0, 1], 320 + i, 240, 0.8 + i / 10),
);

function colmapBinaryFixture(): { cameras: Uint8Array; images: Uint8Array } {
  const cams = Buffer.alloc(8 + VIEWS.length * (24 + 4 * 8));
  cams.writeBigUInt64LE(BigInt(VIEWS.length), 0);
  VIEWS.forEach((v, i) => {
    const o = 8 + i * 56;
    cams.writeInt32LE(i + 1, o);
    cams.writeInt32LE(1, o + 4); // PINHOLE
    cams.writeBigUInt64LE(BigInt(v.width), o + 8);
    cams.writeBigUInt64LE(BigInt(v.height), o + 16);
    [v.fx, v.fy, v.cx, v.cy].forEach((p, k) => cams.writeDoubleLE(p, o + 24 + 8 * k));
  });
  const parts: Buffer[] = [Buffer.alloc(8)];
  parts[0]!.writeBigUInt64LE(BigInt(VIEWS.length));
  VIEWS.forEach((v, i) => {
    const head = Buffer.alloc(64);
    head.writeInt32LE(i + 1, 0);
    matrixToQuaternion(v.rotation).forEach((q, k) => head.writeDoubleLE(q, 4 + 8 * k));
    v.translation.forEach((t, k) => head.writeDoubleLE(t, 36 + 8 * k));
    head.writeInt32LE(i + 1, 60);
    const count = Buffer.alloc(8);
    count.writeBigUInt64LE(3n);
    parts.push(head, Buffer.from(`${v.name}.png\0`), count, Buffer.alloc(72, 1));
  });
  return { cameras: cams, images: Buffer.concat(parts) };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'saga-cameras-fuzz-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('camera readers under mutation', () => {
  it(`COLMAP binary: ${CASES_PER_FORMAT} mutated cameras.bin/images.bin`, async () => {
    const fixture = colmapBinaryFixture();
    const files = { cameras: join(dir, 'cameras.bin'), images: join(dir, 'images.bin') };
    expect(await check(() => colmapToCameras(parseColmapCamerasBinary(fixture.cameras, files.cameras), parseColmapImagesBinary(fixture.images, files.images), files, [dir]))).toBe('ok');
    const rand = random(1);
    const outcomes = { ok: 0, rejected: 0 };
    for (let i = 0; i < CASES_PER_FORMAT; i++) {
      const cams = i % 2 ? mutateBytes(fixture.cameras, rand) : fixture.cameras;
      const images = i % 2 ? fixture.images : mutateBytes(fixture.images, rand);
      outcomes[await check(() => colmapToCameras(parseColmapCamerasBinary(cams, files.cameras), parseColmapImagesBinary(images, files.images), files, [dir]))]++;
    }
    // Both outcomes occur: the mutations reach past the header checks.
    expect(outcomes.ok, JSON.stringify(outcomes)).toBeGreaterThan(0);
    expect(outcomes.rejected).toBeGreaterThan(0);
  });

  it(`COLMAP text: ${CASES_PER_FORMAT} mutated cameras.txt/images.txt`, async () => {
    const camerasText = VIEWS.map((v, i) => `${i + 1} PINHOLE ${v.width} ${v.height} ${v.fx} ${v.fy} ${v.cx} ${v.cy}`).join('\n') + '\n';
    const imagesText = VIEWS.map((v, i) => `${i + 1} ${matrixToQuaternion(v.rotation).join(' ')} ${v.translation.join(' ')} ${i + 1} ${v.name}.png\n1 2 3 4 5 -1`).join('\n') + '\n';
    const files = { cameras: join(dir, 'cameras.txt'), images: join(dir, 'images.txt') };
    const rand = random(2);
    const outcomes = { ok: 0, rejected: 0 };
    for (let i = 0; i < CASES_PER_FORMAT; i++) {
      const cams = i % 2 ? mutateText(camerasText, rand) : camerasText;
      const images = i % 2 ? imagesText : mutateText(imagesText, rand);
      outcomes[await check(() => colmapToCameras(parseColmapCamerasText(cams, files.cameras), parseColmapImagesText(images, files.images), files, [dir]))]++;
    }
    expect(outcomes.ok, JSON.stringify(outcomes)).toBeGreaterThan(0);
    expect(outcomes.rejected).toBeGreaterThan(0);
  });

  it(`cameras.json: ${CASES_PER_FORMAT} mutated files`, async () => {
    const text = JSON.stringify(inriaCameraEntries(VIEWS, dir), null, 1);
    const rand = random(3);
    const outcomes = { ok: 0, rejected: 0 };
    for (let i = 0; i < CASES_PER_FORMAT; i++) {
      outcomes[await check(() => parseInriaCameras(mutateText(text, rand), join(dir, 'cameras.json')))]++;
    }
    expect(outcomes.ok, JSON.stringify(outcomes)).toBeGreaterThan(0);
    expect(outcomes.rejected).toBeGreaterThan(0);
  });

  it(`transforms.json: ${CASES_PER_FORMAT} mutated files`, async () => {
    const frames = VIEWS.map((v) => {
      const R = v.rotation;
      const c = [0, 1, 2].map((k) => -(R[k]! * v.translation[0]! + R[3 + k]! * v.translation[1]! + R[6 + k]! * v.translation[2]!));
      return {
        file_path: `images/${v.name}.png`,
        transform_matrix: [0, 1, 2].map((r) => [R[r]!, -R[3 + r]!, -R[6 + r]!, c[r]!]).concat([[0, 0, 0, 1]]),
      };
    });
    const text = JSON.stringify({ fl_x: 300, fl_y: 301, cx: 160, cy: 120, w: 320, h: 240, k1: 0.01, frames }, null, 1);
    const rand = random(4);
    const outcomes = { ok: 0, rejected: 0 };
    for (let i = 0; i < CASES_PER_FORMAT; i++) {
      outcomes[await check(() => parseTransforms(mutateText(text, rand), join(dir, 'transforms.json')))]++;
    }
    expect(outcomes.ok, JSON.stringify(outcomes)).toBeGreaterThan(0);
    expect(outcomes.rejected).toBeGreaterThan(0);
  });
});
