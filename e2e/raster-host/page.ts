/**
 * Browser entry for e2e/raster-chromium.test.ts: the same rasterizer code on Chromium's own
 * WebGPU (navigator.gpu), shaders fetched from the test server. Exposes window.sagaRaster.
 */
import { requestGpuDevice } from '../../main/engine/gpu/device.ts';
import { GaussianRasterizer } from '../../main/engine/raster/rasterizer.ts';
import type { Camera } from '../../main/scene/camera.ts';
import { createScene, type GaussianScene, type ShDegree } from '../../main/scene/gaussians.ts';

interface SceneHeader {
  count: number;
  shDegree: ShDegree;
}

/** The scene as the test server sends it: positions, scales, rotations, opacities, sh0, shRest back to back. */
function unpackScene(header: SceneHeader, data: Float32Array): GaussianScene {
  const scene = createScene(header.count, header.shDegree);
  let o = 0;
  for (const field of [scene.positions, scene.scales, scene.rotations, scene.opacities, scene.sh0, scene.shRest]) {
    field.set(data.subarray(o, o + field.length));
    o += field.length;
  }
  return scene;
}

let rasterizer: GaussianRasterizer | undefined;
let adapter = '';

async function init(): Promise<string> {
  if (!('gpu' in navigator)) throw new Error('navigator.gpu is missing: start Chromium with --enable-unsafe-webgpu');
  const handle = await requestGpuDevice(navigator.gpu);
  (globalThis as unknown as { sagaGpuHandle: unknown }).sagaGpuHandle = handle;
  rasterizer = await GaussianRasterizer.create(handle.device, async (name) => {
    const response = await fetch(`/native-shaders/${name}`);
    if (!response.ok) throw new Error(`shader ${name}: HTTP ${response.status}`);
    return response.text();
  });
  adapter = `${handle.adapterInfo.vendor} ${handle.adapterInfo.architecture} ${handle.adapterInfo.description}`;
  return adapter;
}

async function loadScene(): Promise<number> {
  const header = (await (await fetch('/scene.json')).json()) as SceneHeader;
  const data = new Float32Array(await (await fetch('/scene.bin')).arrayBuffer());
  rasterizer!.loadScene(unpackScene(header, data));
  return header.count;
}

/** Renders a view and runs the cached training path; returns plain arrays for the test to compare. */
async function renderView(camera: Camera, width: number, height: number, featureDim: number, seed: number) {
  const r = rasterizer!;
  let s = seed >>> 0;
  const random = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
  const features = Float32Array.from({ length: r.gaussianCount * featureDim }, random);
  const out = await r.render(camera, { width, height, features, featureDim });
  const view = await r.prepareView(camera, { width, height });
  const forward = await r.forwardFeatures(view);
  const grad = Float32Array.from({ length: width * height * featureDim }, random);
  const backward = await r.backwardFeatures(view, grad);
  view.destroy();
  return {
    features: Array.from(features),
    grad: Array.from(grad),
    color: Array.from(out.color),
    alpha: Array.from(out.alpha),
    featureMap: Array.from(out.features!),
    cachedFeatureMap: Array.from(forward),
    backward: Array.from(backward),
  };
}

(globalThis as unknown as { sagaRaster: unknown }).sagaRaster = { init, loadScene, renderView };
