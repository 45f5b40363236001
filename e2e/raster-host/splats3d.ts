/**
 * Superseded by e2e/crosscheck.test.ts, which drives the app's own viewport instead (this
 * standalone page left the library's canvas black); kept only while e2e/raster-chromium.test.ts
 * still names it in its opt-in SAGA_CROSSCHECK block.
 *
 * Browser entry for the independent cross-check: @mkkellogg/gaussian-splats-3d renders a scene from
 * a given camera (OpenCV convention, converted to three.js) into a canvas the test screenshots.
 */
import * as THREE from 'three';
import { LogLevel, RenderMode, SceneFormat, SceneRevealMode, Viewer } from '@mkkellogg/gaussian-splats-3d';
import type { Camera } from '../../main/scene/camera.ts';

async function renderWith(url: string, cam: Camera): Promise<string> {
  const canvas = document.createElement('canvas');
  canvas.id = 'view';
  canvas.width = cam.width;
  canvas.height = cam.height;
  canvas.style.cssText = `position:fixed;left:0;top:0;width:${cam.width}px;height:${cam.height}px`;
  document.body.style.margin = '0';
  document.body.append(canvas);
  const renderer = new THREE.WebGLRenderer({ canvas, antialias: false, precision: 'highp', preserveDrawingBuffer: true });
  renderer.setPixelRatio(1);
  renderer.setSize(cam.width, cam.height, false);
  renderer.setClearColor(new THREE.Color(0x000000), 1);
  const fovY = (2 * Math.atan(cam.height / (2 * cam.fy)) * 180) / Math.PI;
  const camera = new THREE.PerspectiveCamera(fovY, cam.width / cam.height, 0.01, 1000);
  const R = cam.rotation;
  const t = cam.translation;
  const centre = [0, 1, 2].map((k) => -(R[k]! * t[0]! + R[3 + k]! * t[1]! + R[6 + k]! * t[2]!));
  camera.position.set(centre[0]!, centre[1]!, centre[2]!);
  // OpenCV camera: y down, z forward. three.js: up is -y_cam, looks along +z_cam.
  camera.up.set(-R[3]!, -R[4]!, -R[5]!);
  camera.lookAt(centre[0]! + R[6]!, centre[1]! + R[7]!, centre[2]! + R[8]!);
  camera.updateMatrixWorld();
  const viewer = new Viewer({
    renderer,
    camera,
    rootElement: document.body,
    selfDrivenMode: false,
    useBuiltInControls: false,
    sharedMemoryForWorkers: true,
    optimizeSplatData: false,
    renderMode: RenderMode.Always,
    sceneRevealMode: SceneRevealMode.Instant,
    logLevel: LogLevel.None,
    sphericalHarmonicsDegree: 0,
  });
  await viewer.addSplatScene(url, { format: SceneFormat.Ply, showLoadingUI: false, progressiveLoad: false, splatAlphaRemovalThreshold: 0 });
  // Skip the library's reveal animation (the scene stays invisible until it ends).
  viewer.splatMesh.visibleRegionFadeStartRadius = viewer.splatMesh.visibleRegionBufferRadius;
  // The splat sort runs in a worker: render frames until it is ready, then a few more.
  let ready = 0;
  const started = performance.now();
  for (let frame = 0; frame < 400 && (ready < 20 || performance.now() - started < 8000); frame++) {
    viewer.update();
    if (viewer.splatRenderReady) {
      viewer.render();
      ready++;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (!ready) throw new Error('gaussian-splats-3d never became ready to render');
  const gl = renderer.getContext();
  const pixels = new Uint8Array(cam.width * cam.height * 4);
  gl.readPixels(0, 0, cam.width, cam.height, gl.RGBA, gl.UNSIGNED_BYTE, pixels);
  let lit = 0;
  for (let i = 0; i < pixels.length; i += 4) if (pixels[i]! + pixels[i + 1]! + pixels[i + 2]! > 30) lit++;
  const mesh = viewer.splatMesh as unknown as { geometry: { instanceCount: number } };
  return `splats ${viewer.splatMesh.getSplatCount()}, instances ${mesh.geometry.instanceCount}, ready frames ${ready}, lit pixels ${lit}, gl ${gl.getParameter(gl.VERSION)}`;
}

(globalThis as unknown as { sagaSplats3d: unknown }).sagaSplats3d = { renderWith };
