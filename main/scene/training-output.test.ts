import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode as encodePng } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENES, sharedScene } from '../../e2e/fixtures.ts';
import { isSagaError, type ErrorCode } from '../contract/errors.ts';
import { lookAtCamera, type Camera } from './camera.ts';
import { matrixToQuaternion, projectPoint, quaternionToMatrix } from './cameras/index.ts';
import { findTrainingOutput, latestIterationPly, parseCfgArgs, savedIterations } from './training-output.ts';

/**
 * Real folder layouts built in a temporary directory around the real 3DGS training output
 * inria-sh3-9080.ply (linked, not copied).
 */

let root: string;
const VIEWS: Camera[] = [0, 1, 2].map((i) => {
  const a = (i / 3) * 2 * Math.PI;
  return lookAtCamera(`DSC_${String(i).padStart(4, '0')}`, [3 * Math.cos(a), 3 * Math.sin(a), 1], [0, 0, 0], [0, 0, 1], 400, 300, 0.8);
});

/** cameras.json exactly as gaussian-splatting's train.py writes it (no principal point, no extras). */
function trainPyCamerasJson(views: Camera[]): string {
  return JSON.stringify(
    views.map((cam, id) => {
      const R = cam.rotation;
      const t = cam.translation;
      const center = [0, 1, 2].map((c) => -(R[c]! * t[0]! + R[3 + c]! * t[1]! + R[6 + c]! * t[2]!));
      return {
        id,
        img_name: cam.name,
        width: cam.width,
        height: cam.height,
        position: center,
        rotation: [0, 1, 2].map((r) => [R[r]!, R[3 + r]!, R[6 + r]!]),
        fy: cam.fy,
        fx: cam.fx,
      };
    }),
  );
}

async function makeDir(...parts: string[]): Promise<string> {
  const dir = join(root, ...parts);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** A dataset folder as 3DGS convert.py leaves it: images/ and sparse/0 (text model). */
async function makeDataset(name: string, imageCount: number): Promise<string> {
  const dataset = await makeDir(name);
  await makeDir(name, 'images');
  for (const cam of VIEWS.slice(0, imageCount)) await writeFile(join(dataset, 'images', `${cam.name}.JPG`), 'jpeg bytes');
  const model = await makeDir(name, 'sparse', '0');
  await writeFile(join(model, 'cameras.txt'), VIEWS.map((c, i) => `${i + 1} PINHOLE ${c.width} ${c.height} ${c.fx} ${c.fy} ${c.cx} ${c.cy}`).join('\n'));
  await writeFile(join(model, 'images.txt'), VIEWS.map((c, i) => `${i + 1} ${matrixToQuaternion(c.rotation).join(' ')} ${c.translation.join(' ')} ${i + 1} ${c.name}.JPG\n`).join('\n'));
  return dataset;
}

/** An output folder as gaussian-splatting's train.py leaves it. */
async function makeTrainingOutput(name: string, cfgArgs: string, iterations: number[]): Promise<string> {
  const out = await makeDir(name);
  await writeFile(join(out, 'cfg_args'), cfgArgs);
  await writeFile(join(out, 'cameras.json'), trainPyCamerasJson(VIEWS));
  // input.ply is the SfM point cloud: a PLY, but not Gaussians.
  await writeFile(join(out, 'input.ply'), 'ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\nproperty float nx\nproperty float ny\nproperty float nz\nproperty uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n0 0 0 0 0 0 1 2 3\n');
  for (const it of iterations) {
    const dir = await makeDir(name, 'point_cloud', `iteration_${it}`);
    await symlink(sharedScene(SCENES.inria), join(dir, 'point_cloud.ply'));
  }
  return out;
}

async function expectError(promise: Promise<unknown>, code: ErrorCode, fragment: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isSagaError(error, code), `expected ${code}, got ${String(error)}`).toBe(true);
  expect((error as Error).message).toMatch(fragment);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'saga-training-output-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('parseCfgArgs', () => {
  it('reads the Namespace repr gaussian-splatting writes, without evaluating it', () => {
    const text =
      "Namespace(sh_degree=3, source_path='/data/tandt/train', model_path='./output/5e3a1c2d-4', images='images', resolution=-1, white_background=False, data_device='cuda', eval=True, depths='', train_test_exp=False, antialiasing=None, test_iterations=[7000, 30000], lr=1.6e-04, note=\"it's \\\"quoted\\\"\\n\", path=PosixPath('/x'), weird=os.system('rm -rf /'))\n";
    const cfg = parseCfgArgs(text);
    expect(cfg).toEqual({
      sh_degree: 3,
      source_path: '/data/tandt/train',
      model_path: './output/5e3a1c2d-4',
      images: 'images',
      resolution: -1,
      white_background: false,
      data_device: 'cuda',
      eval: true,
      depths: '',
      train_test_exp: false,
      antialiasing: null,
      test_iterations: [7000, 30000],
      lr: 1.6e-4,
      note: 'it\'s "quoted"\n',
      path: "PosixPath('/x')",
      weird: "os.system('rm -rf /')",
    });
  });

  it('refuses text that is not a Namespace', () => {
    expect(() => parseCfgArgs('{"source_path": "/x"}')).toThrow(/Namespace/);
  });
});

describe('findTrainingOutput', () => {
  it('opens a gaussian-splatting output with the latest iteration and the images from cfg_args', async () => {
    const dataset = await makeDataset('datasets/garden', 2);
    const out = await makeTrainingOutput('output/abc123', `Namespace(sh_degree=3, source_path='${dataset}', model_path='./output/abc123', images='images', eval=False)`, [7000, 30000]);
    await makeDir('output/abc123/point_cloud/iteration_15000'); // an interrupted save: no point_cloud.ply
    const found = await findTrainingOutput(out);
    expect(found.layout).toBe('training-output');
    expect(found.iteration).toBe(30000);
    expect(found.iterations).toEqual([7000, 30000]);
    expect(found.scenePath).toBe(join(out, 'point_cloud', 'iteration_30000', 'point_cloud.ply'));
    expect(found.sourcePath).toBe(dataset);
    expect(found.imagesDir).toBe(join(dataset, 'images'));
    expect(found.camerasPath).toBe(join(out, 'cameras.json'));
    expect(found.cameras.map((c) => c.name)).toEqual(VIEWS.map((c) => c.name));
    // img_name has no extension: the reader found DSC_0000.JPG by its stem.
    expect(found.cameras[0]!.imagePath).toBe(join(dataset, 'images', 'DSC_0000.JPG'));
    expect(found.missingImages).toEqual(['DSC_0002']);
    expect(found.warnings.join(' ')).toMatch(/1 of 3 views have no image/);
    // The cameras read from cameras.json agree with the dataset's own COLMAP model.
    for (const [i, cam] of found.cameras.entries()) {
      const a = projectPoint(cam, [0.2, -0.1, 0.3]);
      const b = projectPoint(VIEWS[i]!, [0.2, -0.1, 0.3]);
      expect(Math.abs(a.u - b.u) + Math.abs(a.v - b.v)).toBeLessThan(1e-9);
    }
  });

  it('opens a requested iteration, or the training output of a point_cloud.ply given directly', async () => {
    const out = await makeTrainingOutput('output/iters', "Namespace(source_path='/nowhere/data', images='images')", [7000, 30000]);
    expect((await findTrainingOutput(out, { iteration: 7000 })).scenePath).toBe(join(out, 'point_cloud', 'iteration_7000', 'point_cloud.ply'));
    const direct = await findTrainingOutput(join(out, 'point_cloud', 'iteration_7000', 'point_cloud.ply'));
    expect(direct.root).toBe(out);
    expect(direct.iteration).toBe(7000);
    await expectError(findTrainingOutput(out, { iteration: 5 }), 'BAD_ARGUMENT', /Iteration 5 was not saved.*7000, 30000/);
    // Pointing at point_cloud/ or at one iteration's folder opens the training output.
    expect((await findTrainingOutput(join(out, 'point_cloud'))).iteration).toBe(30000);
    const iterationDir = await findTrainingOutput(join(out, 'point_cloud', 'iteration_7000'));
    expect([iterationDir.root, iterationDir.iteration]).toEqual([out, 7000]);
    // A scene file beside point_cloud/ (an export, say) is opened as it is, with the folder's cameras.
    await symlink(sharedScene(SCENES.antimatter), join(out, 'export.splat'));
    const loose = await findTrainingOutput(join(out, 'export.splat'));
    expect(loose.layout).toBe('plain');
    expect(loose.scenePath).toBe(join(out, 'export.splat'));
    expect(loose.iteration).toBeUndefined();
    expect(loose.cameras.length).toBe(VIEWS.length);
  });

  it('handles an output copied from a training server: source path absent, images beside it', async () => {
    const out = await makeTrainingOutput('copied', "Namespace(sh_degree=3, source_path='/mnt/gpu-box/data/garden', model_path='output/x', images='images_4')", [30000]);
    await makeDir('copied', 'images');
    for (const cam of VIEWS) await writeFile(join(out, 'images', `${cam.name}.png`), 'png bytes');
    const found = await findTrainingOutput(out);
    expect(found.sourcePath).toBe('/mnt/gpu-box/data/garden');
    expect(found.warnings.join(' ')).toMatch(/not on this machine/);
    expect(found.imagesDir).toBe(join(out, 'images'));
    expect(found.missingImages).toEqual([]);
    expect(found.cameras.every((c) => c.imagePath?.startsWith(join(out, 'images')))).toBe(true);
  });

  it('resolves a relative source_path against the directory training ran in', async () => {
    const dataset = await makeDataset('run-dir/data/truck', 3);
    const out = await makeTrainingOutput('run-dir/output/truck-1', "Namespace(source_path='data/truck', model_path='output/truck-1', images='images')", [7000]);
    const found = await findTrainingOutput(out);
    expect(found.sourcePath).toBe(dataset);
    expect(found.missingImages).toEqual([]);
  });

  it('scales cameras to a downscaled images folder (cfg_args images=images_2) and reports odd shapes', async () => {
    const dataset = await makeDataset('datasets/half', 0);
    await makeDir('datasets/half', 'images_2');
    const png = (w: number, h: number) => encodePng({ width: w, height: h, data: new Uint8Array(w * h * 3), channels: 3 });
    await writeFile(join(dataset, 'images_2', `${VIEWS[0]!.name}.png`), png(200, 150));
    await writeFile(join(dataset, 'images_2', `${VIEWS[1]!.name}.png`), png(200, 150));
    await writeFile(join(dataset, 'images_2', `${VIEWS[2]!.name}.png`), png(150, 150)); // cropped square: not a downscale
    const out = await makeTrainingOutput('output/half', `Namespace(source_path='${dataset}', images='images_2', resolution=-1)`, [30000]);
    const found = await findTrainingOutput(out);
    expect(found.imagesDir).toBe(join(dataset, 'images_2'));
    const [a, b, c] = found.cameras;
    expect([a!.width, a!.height, b!.width, c!.width]).toEqual([200, 150, 200, 400]);
    // Same field of view: every world point lands at half its full-size pixel coordinates.
    const full = projectPoint(VIEWS[0]!, [0.2, 0.3, -0.1]);
    const half = projectPoint(a!, [0.2, 0.3, -0.1]);
    expect(half.u).toBeCloseTo(full.u / 2, 9);
    expect(half.v).toBeCloseTo(full.v / 2, 9);
    expect(found.warnings.join(' ')).toMatch(/2 views have images of another size.*1 views have images that cannot be read or whose shape does not match their camera \(DSC_0002\)/);
  });

  it('takes an images folder override and reports every view missing from it', async () => {
    const dataset = await makeDataset('datasets/override', 3);
    const out = await makeTrainingOutput('output/override', `Namespace(source_path='${dataset}', images='images')`, [30000]);
    const other = await makeDir('elsewhere-images');
    await writeFile(join(other, `${VIEWS[1]!.name}.jpg`), 'x');
    const found = await findTrainingOutput(out, { imagesDir: other });
    expect(found.imagesDir).toBe(other);
    expect(found.cameras[1]!.imagePath).toBe(join(other, `${VIEWS[1]!.name}.jpg`));
    await expectError(findTrainingOutput(out, { imagesDir: join(root, 'no-such-images') }), 'FILE_NOT_FOUND', /images folder/);
  });

  it('reads the cameras from the dataset COLMAP model when cameras.json is absent', async () => {
    const dataset = await makeDataset('datasets/colmap-only', 3);
    const out = await makeDir('output/no-cameras-json', 'point_cloud', 'iteration_30000');
    await symlink(sharedScene(SCENES.inria), join(out, 'point_cloud.ply'));
    const top = join(root, 'output/no-cameras-json');
    await writeFile(join(top, 'cfg_args'), `Namespace(source_path='${dataset}', images='images')`);
    const found = await findTrainingOutput(top);
    expect(found.camerasPath).toBe(dataset);
    expect(found.cameras.map((c) => c.imagePath)).toEqual(VIEWS.map((c) => join(dataset, 'images', `${c.name}.JPG`)));
    expect(found.missingImages).toEqual([]);
  });

  it('warns when the cameras carry lens distortion', async () => {
    const dir = await makeDir('distorted');
    await symlink(sharedScene(SCENES.inria), join(dir, 'point_cloud.ply'));
    const model = await makeDir('distorted', 'sparse', '0');
    await writeFile(join(model, 'cameras.txt'), '1 SIMPLE_RADIAL 400 300 350 200 150 -0.02\n');
    await writeFile(join(model, 'images.txt'), VIEWS.map((c, i) => `${i + 1} ${matrixToQuaternion(c.rotation).join(' ')} ${c.translation.join(' ')} 1 ${c.name}.jpg\n`).join('\n'));
    const found = await findTrainingOutput(dir);
    expect(found.camerasPath).toBe(model);
    expect(found.cameras[0]!.distortion).toEqual({ model: 'SIMPLE_RADIAL', params: [-0.02] });
    expect(found.warnings.join(' ')).toMatch(/3 views use a lens model with distortion/);
  });

  it('opens a plain folder with a scene file, cameras.json and images/', async () => {
    const dir = await makeDir('plain');
    await symlink(sharedScene(SCENES.antimatter), join(dir, 'scene.splat'));
    await writeFile(join(dir, 'cameras.json'), trainPyCamerasJson(VIEWS));
    await makeDir('plain', 'images');
    for (const cam of VIEWS) await writeFile(join(dir, 'images', `${cam.name}.png`), 'x');
    const found = await findTrainingOutput(dir);
    expect(found.layout).toBe('plain');
    expect(found.scenePath).toBe(join(dir, 'scene.splat'));
    expect(found.iteration).toBeUndefined();
    expect(found.missingImages).toEqual([]);
    // A real INRIA PLY beside it makes the choice ambiguous.
    await symlink(sharedScene(SCENES.inria), join(dir, 'other.ply'));
    await expectError(findTrainingOutput(dir), 'BAD_ARGUMENT', /several scene files \(other\.ply, scene\.splat\)/);
    expect((await findTrainingOutput(join(dir, 'other.ply'))).scenePath).toBe(join(dir, 'other.ply'));
  });

  it('opens a nerfstudio export: splat, transforms.json and dataparser_transforms.json', async () => {
    const dir = await makeDir('nerfstudio-export');
    await symlink(sharedScene(SCENES.inria), join(dir, 'splat.ply'));
    const frames = VIEWS.map((cam) => {
      const R = cam.rotation;
      const t = cam.translation;
      const center = [0, 1, 2].map((c) => -(R[c]! * t[0]! + R[3 + c]! * t[1]! + R[6 + c]! * t[2]!));
      // OpenGL camera-to-world: the OpenCV camera-to-world (R^T) with its y and z columns negated.
      return { file_path: `images/${cam.name}.png`, transform_matrix: [0, 1, 2].map((r) => [R[r]!, -R[3 + r]!, -R[6 + r]!, center[r]!]).concat([[0, 0, 0, 1]]) };
    });
    await writeFile(join(dir, 'transforms.json'), JSON.stringify({ fl_x: VIEWS[0]!.fx, fl_y: VIEWS[0]!.fy, cx: 200, cy: 150, w: 400, h: 300, frames }));
    // What nerfstudio's auto-orient and auto-scale produce: a rotation, an offset and a scale.
    const A = quaternionToMatrix(0.9, 0.1, -0.3, 0.2);
    const b = [0.4, -0.2, 0.1];
    const s = 0.37;
    await writeFile(join(dir, 'dataparser_transforms.json'), JSON.stringify({ transform: [0, 1, 2].map((r) => [...A.slice(r * 3, r * 3 + 3), b[r]!]), scale: s }));
    const found = await findTrainingOutput(dir);
    expect(found.camerasPath).toBe(join(dir, 'transforms.json'));
    expect(found.worldTransform?.scale).toBe(s);
    expect(found.warnings.join(' ')).toMatch(/dataparser_transforms\.json/);
    // A world point p seen by the original camera is where its transformed image s (A p + b) is seen now.
    const p = [0.3, -0.4, 0.2];
    const q = [0, 1, 2].map((r) => s * (A[r * 3]! * p[0]! + A[r * 3 + 1]! * p[1]! + A[r * 3 + 2]! * p[2]! + b[r]!));
    found.cameras.forEach((cam, i) => {
      const before = projectPoint(VIEWS[i]!, p);
      const after = projectPoint(cam, q);
      expect(after.u).toBeCloseTo(before.u, 8);
      expect(after.v).toBeCloseTo(before.v, 8);
      expect(after.depth).toBeCloseTo(before.depth * s, 10);
    });
    // A mirrored transform cannot be a camera motion.
    await writeFile(join(dir, 'dataparser_transforms.json'), JSON.stringify({ transform: [[-1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]], scale: 1 }));
    await expectError(findTrainingOutput(dir), 'BAD_CAMERAS', /dataparser_transforms\.json.*mirrored/);
  });

  it('explains why a folder is not a training output', async () => {
    await expectError(findTrainingOutput(join(root, 'absent')), 'FILE_NOT_FOUND', /No such folder/);
    const empty = await makeDir('empty');
    await expectError(findTrainingOutput(empty), 'UNSUPPORTED_FORMAT', /not a 3DGS training output: it holds no Gaussian scene file/);
    const sfmOnly = await makeDir('sfm-only');
    await writeFile(join(sfmOnly, 'input.ply'), 'ply\nformat ascii 1.0\nelement vertex 0\nproperty float x\nend_header\n');
    await expectError(findTrainingOutput(sfmOnly), 'UNSUPPORTED_FORMAT', /input\.ply is a plain point cloud/);
    const unsaved = await makeDir('unsaved', 'point_cloud', 'iteration_7000');
    await expectError(findTrainingOutput(join(unsaved, '..', '..')), 'UNSUPPORTED_FORMAT', /holds no iteration_<N>\/point_cloud\.ply yet/);
    const noCameras = await makeDir('no-cameras', 'point_cloud', 'iteration_7000');
    await symlink(sharedScene(SCENES.inria), join(noCameras, 'point_cloud.ply'));
    await expectError(findTrainingOutput(join(root, 'no-cameras')), 'BAD_CAMERAS', /has no cameras\.json/);
    // A run with cameras.json but no saved point cloud yet.
    const early = await makeTrainingOutput('early', "Namespace(source_path='/x')", []);
    await makeDir('early', 'point_cloud');
    await expectError(findTrainingOutput(early), 'UNSUPPORTED_FORMAT', /holds no iteration_<N>\/point_cloud\.ply yet/);
    // A broken cfg_args is a warning: the rest of the folder still opens.
    const brokenCfg = await makeTrainingOutput('broken-cfg', 'not a namespace', [7000]);
    const opened = await findTrainingOutput(brokenCfg);
    expect(opened.config).toBeUndefined();
    expect(opened.warnings.join(' ')).toMatch(/cfg_args could not be read/);
    const badCameras = await makeTrainingOutput('bad-cameras', "Namespace(source_path='/x')", [7000]);
    await writeFile(join(badCameras, 'cameras.json'), '[{"img_name": "a"}]');
    await expectError(findTrainingOutput(badCameras), 'BAD_CAMERAS', /cameras\.json.*width/);
  });

  it('stops when cancelled', async () => {
    const out = await makeTrainingOutput('cancelled', "Namespace(source_path='/x')", [7000]);
    const controller = new AbortController();
    controller.abort();
    await expectError(findTrainingOutput(out, { signal: controller.signal }), 'CANCELLED', /cancelled/);
  });
});

describe('the latest saved iteration', () => {
  it('is the highest iteration_<N> holding a point_cloud.ply, and none without a point_cloud folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'saga-latest-'));
    try {
      expect(await latestIterationPly(dir)).toBeUndefined();
      for (const n of [7000, 30000]) {
        await mkdir(join(dir, 'point_cloud', `iteration_${n}`), { recursive: true });
        await writeFile(join(dir, 'point_cloud', `iteration_${n}`, 'point_cloud.ply'), 'ply\n');
      }
      // A later iteration that never finished saving, and a folder that is no iteration.
      await mkdir(join(dir, 'point_cloud', 'iteration_40000'));
      await mkdir(join(dir, 'point_cloud', 'iteration_x'));
      expect(await savedIterations(join(dir, 'point_cloud'))).toEqual([7000, 30000]);
      expect(await latestIterationPly(dir)).toBe(join(dir, 'point_cloud', 'iteration_30000', 'point_cloud.ply'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
