import { mkdtemp, mkdir, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode as encodePng } from 'fast-png';
import jpeg from 'jpeg-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSagaError } from '../../contract/errors.ts';
import { lookAtCamera, type Camera } from '../camera.ts';
import { detectCameraSource, matrixToQuaternion, projectPoint, quaternionToMatrix, readCameras, readImageSize, writeInriaCameras } from './index.ts';

/**
 * The same physical cameras written in every format by hand (not by our writer), then read back:
 * every reader must put a known world point on the same pixel.
 */

type Vec3 = [number, number, number];

interface PhysicalCamera {
  image: string;
  width: number;
  height: number;
  fx: number;
  fy: number;
  cx: number;
  cy: number;
  /** World-to-camera, row-major. */
  R: number[];
  t: Vec3;
  center: Vec3;
}

function physical(image: string, eye: Vec3, target: Vec3, width: number, height: number, fx: number, fy: number, cx: number, cy: number): PhysicalCamera {
  const look = lookAtCamera(image, eye, target, [0, 0, 1], width, height, 1);
  return { image, width, height, fx, fy, cx, cy, R: look.rotation, t: look.translation as Vec3, center: eye };
}

// cameras.json (3DGS) has no principal point, so the views shared by every format are centred.
const CENTRED = [
  physical('view_000.png', [3, -2, 1.5], [0.2, 0.1, 0], 640, 480, 500, 505, 320, 240),
  physical('view_001.png', [-2.5, -3, 0.5], [0, 0, 0.3], 640, 480, 500, 505, 320, 240),
];
// An off-centre principal point, for the formats that can express one.
const OFF_CENTRE = physical('view_002.png', [0.5, 4, 2], [0, 0, 0], 800, 600, 700, 700, 410.5, 295.25);

const POINTS: Vec3[] = [
  [0, 0, 0],
  [0.3, -0.2, 0.4],
  [-0.5, 0.25, 0.1],
];

/** Pixel of a world point, computed here from the definition rather than by the code under test. */
function expectedPixel(cam: PhysicalCamera, p: Vec3): [number, number] {
  const x = cam.R[0]! * p[0] + cam.R[1]! * p[1] + cam.R[2]! * p[2] + cam.t[0];
  const y = cam.R[3]! * p[0] + cam.R[4]! * p[1] + cam.R[5]! * p[2] + cam.t[1];
  const z = cam.R[6]! * p[0] + cam.R[7]! * p[1] + cam.R[8]! * p[2] + cam.t[2];
  return [cam.fx * (x / z) + cam.cx, cam.fy * (y / z) + cam.cy];
}

function expectSamePixels(parsed: Camera[], truth: PhysicalCamera[]): void {
  expect(parsed.length).toBe(truth.length);
  truth.forEach((cam, i) => {
    const got = parsed[i]!;
    expect(got.width).toBe(cam.width);
    expect(got.height).toBe(cam.height);
    for (const p of POINTS) {
      const { u, v, depth } = projectPoint(got, p);
      const [eu, ev] = expectedPixel(cam, p);
      expect(depth).toBeGreaterThan(0);
      expect(Math.abs(u - eu)).toBeLessThan(1e-6);
      expect(Math.abs(v - ev)).toBeLessThan(1e-6);
    }
  });
}

const transpose = (R: number[]) => [R[0]!, R[3]!, R[6]!, R[1]!, R[4]!, R[7]!, R[2]!, R[5]!, R[8]!];

/** 3DGS camera_to_JSON: position = camera centre, rotation = camera-to-world rotation rows. */
function inriaEntry(cam: PhysicalCamera, id: number) {
  const c2w = transpose(cam.R);
  return {
    id,
    img_name: cam.image.replace(/\..*$/, ''),
    width: cam.width,
    height: cam.height,
    position: cam.center,
    rotation: [c2w.slice(0, 3), c2w.slice(3, 6), c2w.slice(6, 9)],
    fy: cam.fy,
    fx: cam.fx,
  };
}

/** OpenGL camera-to-world 4x4 (nerfstudio, instant-ngp, Blender): OpenCV c2w with y and z columns negated. */
function glTransform(cam: PhysicalCamera): number[][] {
  const c2w = transpose(cam.R);
  return [0, 1, 2]
    .map((r) => [c2w[r * 3]!, -c2w[r * 3 + 1]!, -c2w[r * 3 + 2]!, cam.center[r]!])
    .concat([[0, 0, 0, 1]]);
}

function pinholeParams(cam: PhysicalCamera): { model: string; params: number[] } {
  return cam.fx === cam.fy
    ? { model: 'SIMPLE_PINHOLE', params: [cam.fx, cam.cx, cam.cy] }
    : { model: 'PINHOLE', params: [cam.fx, cam.fy, cam.cx, cam.cy] };
}

function colmapText(cams: PhysicalCamera[]): { cameras: string; images: string } {
  const cameraLines = cams.map((c, i) => {
    const { model, params } = pinholeParams(c);
    return `${i + 1} ${model} ${c.width} ${c.height} ${params.join(' ')}`;
  });
  const imageLines = cams.flatMap((c, i) => {
    const q = matrixToQuaternion(c.R);
    // Alternate an empty points line and a populated one: both occur in real files.
    return [`${i + 1} ${q.join(' ')} ${c.t.join(' ')} ${i + 1} ${c.image}`, i % 2 ? '100.5 200.25 7 101.5 201.25 -1' : ''];
  });
  return {
    cameras: `# Camera list with one line of data per camera:\n#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]\n# Number of cameras: ${cams.length}\n${cameraLines.join('\n')}\n`,
    images: `# Image list with two lines of data per image:\n#   IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME\n#   POINTS2D[] as (X, Y, POINT3D_ID)\n${imageLines.join('\n')}\n`,
  };
}

const MODEL_IDS: Record<string, number> = { SIMPLE_PINHOLE: 0, PINHOLE: 1, SIMPLE_RADIAL: 2, RADIAL: 3, OPENCV: 4, OPENCV_FISHEYE: 5 };

/** A small writer for COLMAP's binary layout (src/colmap/scene/reconstruction_io.cc). */
function colmapBinary(cams: { id: number; model: string; width: number; height: number; params: number[] }[], images: { id: number; q: number[]; t: number[]; cameraId: number; name: string; points: number }[]) {
  const camBytes: Buffer[] = [Buffer.alloc(8)];
  camBytes[0]!.writeBigUInt64LE(BigInt(cams.length));
  for (const c of cams) {
    const b = Buffer.alloc(24 + 8 * c.params.length);
    b.writeInt32LE(c.id, 0);
    b.writeInt32LE(MODEL_IDS[c.model]!, 4);
    b.writeBigUInt64LE(BigInt(c.width), 8);
    b.writeBigUInt64LE(BigInt(c.height), 16);
    c.params.forEach((p, i) => b.writeDoubleLE(p, 24 + 8 * i));
    camBytes.push(b);
  }
  const imgBytes: Buffer[] = [Buffer.alloc(8)];
  imgBytes[0]!.writeBigUInt64LE(BigInt(images.length));
  for (const im of images) {
    const head = Buffer.alloc(64);
    head.writeInt32LE(im.id, 0);
    im.q.forEach((v, i) => head.writeDoubleLE(v, 4 + 8 * i));
    im.t.forEach((v, i) => head.writeDoubleLE(v, 36 + 8 * i));
    head.writeInt32LE(im.cameraId, 60);
    const count = Buffer.alloc(8);
    count.writeBigUInt64LE(BigInt(im.points));
    const points = Buffer.alloc(24 * im.points);
    for (let p = 0; p < im.points; p++) {
      points.writeDoubleLE(p * 1.5, 24 * p);
      points.writeDoubleLE(p * 2.5, 24 * p + 8);
      points.writeBigInt64LE(p % 3 === 0 ? -1n : BigInt(p), 24 * p + 16);
    }
    imgBytes.push(head, Buffer.from(im.name + '\0', 'utf8'), count, points);
  }
  return { cameras: Buffer.concat(camBytes), images: Buffer.concat(imgBytes) };
}

function colmapBinaryOf(cams: PhysicalCamera[]) {
  return colmapBinary(
    cams.map((c, i) => ({ id: i + 1, width: c.width, height: c.height, ...pinholeParams(c) })),
    cams.map((c, i) => ({ id: 10 + i, q: matrixToQuaternion(c.R), t: c.t, cameraId: i + 1, name: c.image, points: 5 * i })),
  );
}

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'saga-cameras-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function folder(name: string): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  return dir;
}

async function expectBadCameras(promise: Promise<unknown>, fragment: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isSagaError(error, 'BAD_CAMERAS'), `expected BAD_CAMERAS, got ${String(error)}`).toBe(true);
  expect((error as Error).message).toMatch(fragment);
}

describe('rotation helpers', () => {
  it('turns a quarter turn about z into the matrix COLMAP documents', () => {
    const s = Math.SQRT1_2;
    const R = quaternionToMatrix(s, 0, 0, s);
    [0, -1, 0, 1, 0, 0, 0, 0, 1].forEach((v, i) => expect(R[i]).toBeCloseTo(v, 12));
  });
  it('inverts quaternionToMatrix on arbitrary rotations', () => {
    for (const cam of [...CENTRED, OFF_CENTRE]) {
      const back = quaternionToMatrix(...matrixToQuaternion(cam.R));
      back.forEach((v, i) => expect(v).toBeCloseTo(cam.R[i]!, 12));
    }
  });
});

describe('every camera format puts a world point on the same pixel', () => {
  it('reads a hand-written minimal example identically in all formats', async () => {
    // Identity rotation, camera 4 units behind the origin: point (2, 1, 0) lands at
    // u = 50 + 100 * 2 / 4 = 100, v = 40 + 100 * 1 / 4 = 65.
    const dir = await folder('minimal');
    await mkdir(join(dir, 'sparse/0'), { recursive: true });
    await writeFile(join(dir, 'sparse/0/cameras.txt'), '1 PINHOLE 100 80 100 100 50 40\n');
    await writeFile(join(dir, 'sparse/0/images.txt'), '1 1 0 0 0 0 0 4 1 a.png\n\n');
    await writeFile(
      join(dir, 'transforms.json'),
      JSON.stringify({ fl_x: 100, fl_y: 100, cx: 50, cy: 40, w: 100, h: 80, frames: [{ file_path: 'images/a.png', transform_matrix: [[1, 0, 0, 0], [0, -1, 0, 0], [0, 0, -1, -4], [0, 0, 0, 1]] }] }),
    );
    await writeFile(
      join(dir, 'cameras.json'),
      JSON.stringify([{ id: 0, img_name: 'a', width: 100, height: 80, position: [0, 0, -4], rotation: [[1, 0, 0], [0, 1, 0], [0, 0, 1]], fy: 100, fx: 100 }]),
    );
    for (const path of [dir, join(dir, 'transforms.json'), join(dir, 'cameras.json')]) {
      const [cam] = await readCameras(path);
      const { u, v } = projectPoint(cam!, [2, 1, 0]);
      expect(u).toBeCloseTo(100, 12);
      expect(v).toBeCloseTo(65, 12);
    }
  });

  it('reads INRIA cameras.json as written by gaussian-splatting, with images beside it', async () => {
    const dir = await folder('inria');
    await mkdir(join(dir, 'images'));
    await writeFile(join(dir, 'images', 'view_000.png'), 'not decoded here');
    await writeFile(join(dir, 'cameras.json'), JSON.stringify(CENTRED.map(inriaEntry)));
    const cams = await readCameras(join(dir, 'cameras.json'));
    expectSamePixels(cams, CENTRED);
    expect(cams.map((c) => c.name)).toEqual(['view_000', 'view_001']);
    expect(cams[0]!.imagePath).toBe(join(dir, 'images', 'view_000.png'));
    // Its image is absent: no path is invented for a name without extension.
    expect(cams[1]!.imagePath).toBeUndefined();
    // A different images folder can be named.
    const other = await folder('inria-images');
    await writeFile(join(other, 'view_001.jpg'), 'x');
    const moved = await readCameras(join(dir, 'cameras.json'), { imagesDir: other });
    expect(moved[1]!.imagePath).toBe(join(other, 'view_001.jpg'));
    // Converters that write img_name with its extension give the same camera name.
    const withExtension = CENTRED.map((c, i) => ({ ...inriaEntry(c, i), img_name: c.image }));
    await writeFile(join(dir, 'cameras-ext.json'), JSON.stringify(withExtension));
    const named = await readCameras(join(dir, 'cameras-ext.json'));
    expect(named.map((c) => [c.name, c.imagePath])).toEqual([
      ['view_000', join(dir, 'images', 'view_000.png')],
      ['view_001', undefined],
    ]);
  });

  it('reads a COLMAP text model from a dataset root, sparse/0 and the model folder', async () => {
    const dir = await folder('colmap-text');
    const model = join(dir, 'sparse', '0');
    await mkdir(model, { recursive: true });
    const cams = [...CENTRED, OFF_CENTRE];
    const text = colmapText(cams);
    await writeFile(join(model, 'cameras.txt'), text.cameras);
    await writeFile(join(model, 'images.txt'), text.images);
    for (const path of [dir, model, join(model, 'images.txt')]) {
      const parsed = await readCameras(path);
      expectSamePixels(parsed, cams);
      expect(parsed[2]!.imagePath).toBe(join(dir, 'images', 'view_002.png'));
    }
    expect((await detectCameraSource(dir)).kind).toBe('colmap-text');
  });

  it('reads a COLMAP binary model with 2D points to skip', async () => {
    const dir = await folder('colmap-bin');
    const model = join(dir, 'sparse', '0');
    await mkdir(model, { recursive: true });
    const cams = [...CENTRED, OFF_CENTRE];
    const bin = colmapBinaryOf(cams);
    await writeFile(join(model, 'cameras.bin'), bin.cameras);
    await writeFile(join(model, 'images.bin'), bin.images);
    expect((await detectCameraSource(dir)).kind).toBe('colmap-binary');
    expectSamePixels(await readCameras(dir), cams);
  });

  it('keeps SIMPLE_RADIAL, RADIAL and OPENCV lens terms', async () => {
    const dir = await folder('colmap-lens');
    const c = OFF_CENTRE;
    const q = matrixToQuaternion(c.R);
    const bin = colmapBinary(
      [
        { id: 1, model: 'SIMPLE_RADIAL', width: c.width, height: c.height, params: [c.fx, c.cx, c.cy, -0.05] },
        { id: 2, model: 'RADIAL', width: c.width, height: c.height, params: [c.fx, c.cx, c.cy, -0.05, 0.01] },
        { id: 3, model: 'OPENCV', width: c.width, height: c.height, params: [c.fx, c.fy, c.cx, c.cy, -0.05, 0.01, 0.001, -0.002] },
      ],
      [1, 2, 3].map((id) => ({ id, q, t: c.t, cameraId: id, name: `lens_${id}.jpg`, points: 2 })),
    );
    await writeFile(join(dir, 'cameras.bin'), bin.cameras);
    await writeFile(join(dir, 'images.bin'), bin.images);
    const cams = await readCameras(dir);
    expectSamePixels(cams, [c, c, c]);
    expect(cams.map((cam) => cam.distortion)).toEqual([
      { model: 'SIMPLE_RADIAL', params: [-0.05] },
      { model: 'OPENCV', params: [-0.05, 0.01, 0, 0] },
      { model: 'OPENCV', params: [-0.05, 0.01, 0.001, -0.002] },
    ]);
  });

  it('reads nerfstudio transforms.json with per-frame intrinsics', async () => {
    const dir = await folder('nerfstudio');
    const cams = [...CENTRED, OFF_CENTRE];
    const frames = cams.map((c, i) => ({
      // One path as a Windows tool writes it.
      file_path: i === 2 ? `images\\${c.image}` : `images/${c.image}`,
      fl_x: c.fx,
      fl_y: c.fy,
      cx: c.cx,
      cy: c.cy,
      w: c.width,
      h: c.height,
      transform_matrix: glTransform(c),
    }));
    await writeFile(join(dir, 'transforms.json'), JSON.stringify({ camera_model: 'OPENCV', k1: 0, k2: 0, p1: 0, p2: 0, frames }));
    const parsed = await readCameras(dir);
    expectSamePixels(parsed, cams);
    expect(parsed[2]!.imagePath).toBe(join(dir, 'images', 'view_002.png'));
    expect(parsed[0]!.distortion).toBeUndefined();
  });

  it('reads instant-ngp transforms.json with global intrinsics, lens terms and JPEG sizes', async () => {
    const dir = await folder('instant-ngp');
    await mkdir(join(dir, 'images'));
    const c = CENTRED[0]!;
    const pixels = Buffer.alloc(c.width * c.height * 4, 128);
    await writeFile(join(dir, 'images', 'frame.jpg'), jpeg.encode({ data: pixels, width: c.width, height: c.height }, 80).data);
    // No w/h: the size comes from the JPEG header.
    const data = { fl_x: c.fx, fl_y: c.fy, k1: 0.01, k2: -0.001, p1: 0, p2: 0, aabb_scale: 16, frames: [{ file_path: 'images/frame.jpg', sharpness: 30, transform_matrix: glTransform(c) }] };
    await writeFile(join(dir, 'transforms.json'), JSON.stringify(data));
    const parsed = await readCameras(join(dir, 'transforms.json'));
    expectSamePixels(parsed, [c]);
    expect(parsed[0]!.distortion).toEqual({ model: 'OPENCV', params: [0.01, -0.001, 0, 0] });
  });

  it('reads Blender synthetic transforms with camera_angle_x and extension-less PNG paths', async () => {
    const dir = await folder('blender');
    await mkdir(join(dir, 'train'));
    const c = physical('r_0.png', [0, -4, 1], [0, 0, 0], 80, 80, 0, 0, 40, 40);
    const angle = 0.6911112070083618; // the value in the Blender lego scene
    c.fx = c.fy = 40 / Math.tan(angle / 2);
    await writeFile(join(dir, 'train', 'r_0.png'), encodePng({ width: 80, height: 80, data: new Uint8Array(80 * 80 * 4), channels: 4 }));
    await writeFile(join(dir, 'transforms_train.json'), JSON.stringify({ camera_angle_x: angle, frames: [{ file_path: './train/r_0', rotation: 0.012, transform_matrix: glTransform(c) }] }));
    const parsed = await readCameras(dir);
    expectSamePixels(parsed, [c]);
    expect(parsed[0]!.imagePath).toBe(join(dir, 'train', 'r_0.png'));
    expect(parsed[0]!.name).toBe('r_0');
    expect(await readImageSize(join(dir, 'train', 'r_0.png'))).toEqual({ width: 80, height: 80 });
  });
});

describe('writeInriaCameras', () => {
  const cameras: Camera[] = [
    { ...lookAtCamera('orbit-0', [2.1, -1.3, 0.7], [0, 0, 0], [0, 0, 1], 320, 240, 0.9), imagePath: '/data/views/orbit-0.png' },
    { ...lookAtCamera('orbit-1', [-0.4, 2.9, 1.1], [0.1, 0, 0.2], [0, 0, 1], 333, 217, 1.2), cx: 170.125, cy: 101.5, fx: 290.3 },
    { ...lookAtCamera('orbit-2', [1e-3, 7.5, -3], [0, 0, 0], [0, 0, 1], 64, 48, 0.5), distortion: { model: 'OPENCV', params: [0.1, -0.01, 0.002, 0] } },
  ];

  it('round-trips exactly through readCameras', async () => {
    const dir = await folder('roundtrip');
    const path = join(dir, 'cameras.json');
    await writeInriaCameras(cameras, path);
    const back = await readCameras(path);
    expect(back.length).toBe(cameras.length);
    back.forEach((cam, i) => {
      const original = cameras[i]!;
      // === so that -0 and 0 (JSON cannot tell them apart) compare equal; every other value must match bit for bit.
      for (const key of ['name', 'width', 'height', 'fx', 'fy', 'cx', 'cy', 'imagePath'] as const) expect(cam[key] === original[key], key).toBe(true);
      cam.rotation.forEach((v, j) => expect(v === original.rotation[j], `rotation[${j}]`).toBe(true));
      cam.translation.forEach((v, j) => expect(v === original.translation[j], `translation[${j}]`).toBe(true));
      expect(cam.distortion).toEqual(original.distortion);
    });
    expect((await readdir(dir)).sort()).toEqual(['cameras.json']); // no temporary file left behind
  });

  it('writes the fields gaussian-splatting reads, with its pose convention', async () => {
    const dir = await folder('writer-3dgs');
    const path = join(dir, 'cameras.json');
    await writeInriaCameras(cameras, path);
    const entries = JSON.parse(await readFile(path, 'utf8')) as ReturnType<typeof inriaEntry>[];
    entries.forEach((entry, i) => {
      const cam = cameras[i]!;
      expect(entry.id).toBe(i);
      expect(entry.img_name).toBe(cam.name);
      // The 3DGS loader (JSON_to_camera) inverts [rotation | position] to get the world-to-camera pose.
      const c2w = entry.rotation.flat();
      const R = transpose(c2w);
      R.forEach((v, j) => expect(v).toBeCloseTo(cam.rotation[j]!, 14));
      const p = entry.position;
      const t = [0, 1, 2].map((r) => -(R[r * 3]! * p[0] + R[r * 3 + 1]! * p[1] + R[r * 3 + 2]! * p[2]));
      t.forEach((v, j) => expect(v).toBeCloseTo(cam.translation[j]!, 12));
      expect(entry.fx).toBe(cam.fx);
      expect(entry.fy).toBe(cam.fy);
    });
  });

  it('refuses cameras it cannot write and leaves no file', async () => {
    const dir = await folder('writer-bad');
    const path = join(dir, 'cameras.json');
    const broken = { ...cameras[0]!, translation: [0, Number.NaN, 1] };
    await expectBadCameras(writeInriaCameras([broken], path), /non-finite/);
    await expectBadCameras(writeInriaCameras([], path), /no cameras/);
    const failed = await writeInriaCameras(cameras, join(dir, 'missing-folder', 'cameras.json')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isSagaError(failed, 'WRITE_FAILED')).toBe(true);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('bad camera input is a BAD_CAMERAS error naming the file and the problem', () => {
  it('rejects malformed JSON, wrong shapes and impossible values', async () => {
    const dir = await folder('bad-json');
    const cases: [string, unknown, RegExp][] = [
      ['not-json.json', '{"frames": [', /not valid JSON/],
      ['empty.json', [], /empty/],
      ['no-name.json', [{ width: 10 }], /img_name/],
      ['mirror.json', [{ ...inriaEntry(CENTRED[0]!, 0), rotation: [[-1, 0, 0], [0, 1, 0], [0, 0, 1]] }], /not a rotation/],
      ['zero-width.json', [{ ...inriaEntry(CENTRED[0]!, 0), width: 0 }], /width must be a positive whole number/],
      ['string-focal.json', [{ ...inriaEntry(CENTRED[0]!, 0), fx: 'a' }], /fx must be a finite number/],
      ['transforms.json', { frames: [] }, /frames.*empty/],
      ['transforms_scaled.json', { fl_x: 10, w: 10, h: 10, frames: [{ file_path: 'a.png', transform_matrix: [[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0], [0, 0, 0, 1]] }] }, /not a rotation/],
      ['transforms_nofocal.json', { w: 10, h: 10, frames: [{ file_path: 'a.png', transform_matrix: glTransform(CENTRED[0]!) }] }, /no focal length/],
      ['transforms_nosize.json', { fl_x: 10, frames: [{ file_path: 'gone.png', transform_matrix: glTransform(CENTRED[0]!) }] }, /no image size/],
      ['transforms_fisheye.json', { camera_model: 'OPENCV_FISHEYE', fl_x: 10, w: 10, h: 10, frames: [{ file_path: 'a.png', transform_matrix: glTransform(CENTRED[0]!) }] }, /OPENCV_FISHEYE/],
    ];
    for (const [name, content, fragment] of cases) {
      const path = join(dir, name);
      await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
      await expectBadCameras(readCameras(path), fragment);
      await expectBadCameras(readCameras(path), new RegExp(name.replace('.', '\\.')));
    }
  });

  it('rejects broken COLMAP text models', async () => {
    const cases: [string, string, RegExp][] = [
      ['1 OPENCV_FISHEYE 100 100 50 50 50 50 0 0 0 0\n', '1 1 0 0 0 0 0 1 1 a.png\n\n', /OPENCV_FISHEYE.*Undistort/],
      ['1 PINHOLE 100 100 50 50\n', '1 1 0 0 0 0 0 1 1 a.png\n\n', /needs 4 parameters, found 2/],
      ['1 PINHOLE -3 100 50 50 50 50\n', '1 1 0 0 0 0 0 1 1 a.png\n\n', /impossible image size/],
      ['1 PINHOLE 100 100 50 50 50 50\n', '1 1 0 0 0 0 0 1 7 a.png\n\n', /camera 7/],
      ['1 PINHOLE 100 100 50 50 50 50\n', '1 0 0 0 0 0 0 1 1 a.png\n\n', /zero quaternion/],
      ['1 PINHOLE 100 100 50 50 50 50\n', '1 1 0 0 zero 0 0 1 1 a.png\n\n', /malformed/],
      ['1 PINHOLE 100 100 50 50 50 50\n', '# nothing registered\n', /no registered images/],
    ];
    for (const [i, [cams, images, fragment]] of cases.entries()) {
      const dir = await folder(`bad-colmap-text-${i}`);
      await writeFile(join(dir, 'cameras.txt'), cams);
      await writeFile(join(dir, 'images.txt'), images);
      await expectBadCameras(readCameras(dir), fragment);
    }
  });

  it('rejects truncated and absurd COLMAP binaries without large allocations', async () => {
    const good = colmapBinaryOf([...CENTRED, OFF_CENTRE]);
    const dir = await folder('bad-colmap-bin');
    await writeFile(join(dir, 'cameras.bin'), good.cameras);
    // Every truncation of images.bin is an error naming the file, never a crash or a hang.
    for (let cut = 0; cut < good.images.length; cut += 7) {
      await writeFile(join(dir, 'images.bin'), good.images.subarray(0, cut));
      await expectBadCameras(readCameras(dir), /images\.bin.*(truncated|claims|no registered)/);
    }
    const absurd = Buffer.from(good.images);
    absurd.writeBigUInt64LE(0xffffffffffffn, 0);
    await writeFile(join(dir, 'images.bin'), absurd);
    await expectBadCameras(readCameras(dir), /claims 281474976710655 images/);
    const points = Buffer.from(good.images);
    // The first image's point count sits after id, pose, camera id and 'view_000.png\0'.
    points.writeBigUInt64LE(1n << 40n, 8 + 64 + 13);
    await writeFile(join(dir, 'images.bin'), points);
    await expectBadCameras(readCameras(dir), /2D points/);
    const unknownModel = Buffer.from(good.cameras);
    unknownModel.writeInt32LE(99, 12);
    await writeFile(join(dir, 'images.bin'), good.images);
    await writeFile(join(dir, 'cameras.bin'), unknownModel);
    await expectBadCameras(readCameras(dir), /cameras\.bin.*unknown model id 99/);
  });

  it('says what is missing for paths without cameras', async () => {
    const dir = await folder('nothing-here');
    await expectBadCameras(readCameras(dir), /found no cameras here/);
    const missing = await readCameras(join(dir, 'absent.json')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isSagaError(missing, 'FILE_NOT_FOUND')).toBe(true);
    // A file the system refuses to read is FILE_UNREADABLE naming it (here a folder named images.txt).
    const odd = await folder('odd-colmap');
    await writeFile(join(odd, 'cameras.txt'), '1 PINHOLE 10 10 5 5 5 5\n');
    await mkdir(join(odd, 'images.txt'));
    const unreadable = await readCameras(odd).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isSagaError(unreadable, 'FILE_UNREADABLE')).toBe(true);
    expect((unreadable as Error).message).toContain(join(odd, 'images.txt'));
    await writeFile(join(dir, 'scene.ply'), 'ply\n');
    await expectBadCameras(readCameras(join(dir, 'scene.ply')), /expected cameras\.json/);
  });
});
