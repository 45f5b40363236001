/**
 * Viewport implementation on @mkkellogg/gaussian-splats-3d. We own the canvas, the three.js
 * renderer, the camera, the controls and the render loop; the library only holds the splats.
 * The library is configured so its splat index i stays PLY row i (no reordering, no alpha culling).
 */
import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import { LogLevel, RenderMode, SceneFormat, SceneRevealMode, Viewer } from '@mkkellogg/gaussian-splats-3d';
import { keyIsForEditor } from '../shortcuts.ts';
import { isViewerLibraryRejection } from './viewer-rejection.ts';
import { boundsRadius, frameBounds, GAUSSIAN_SPLATTING_UP, initialViewDirection, poseFromCamera, robustBounds, type Bounds, type Vec3 } from './camera-math.ts';
import { FLY_KEYS, flyStep } from './fly.ts';
import { FrustumOverlay } from './frusta.ts';
import { writeSplatColors } from './splat-texture.ts';
import type { FrameStats, LoadOptions, Viewport } from './viewport.ts';

/** Performance mark set when the library has every splat (before the first sort and draw). */
export const MARK_SPLATS_LOADED = 'saga:splats-loaded';
/** Performance mark set when the start pose is chosen (robust bounds computed), before the first draw. */
export const MARK_FRAMED = 'saga:framed';
/**
 * Splats sampled for the framing bounds: a 5% quantile from 20k samples is off by about 0.15% of
 * the mass, and reading each one through the library costs time before the first frame.
 */
const FRAMING_SAMPLES = 20_000;
/** Frusta are drawn this share of the scene's radius deep. */
const FRUSTUM_DEPTH = 0.08;

export interface Splats3dViewportOptions {
  /** The element the canvas fills; it receives the viewer's own (unused) overlay elements. */
  container: HTMLElement;
  canvas: HTMLCanvasElement;
  /** Where keyboard movement is listened for (window in the app). */
  keyTarget: Window;
}

export class Splats3dViewport implements Viewport {
  readonly canvas: HTMLCanvasElement;
  private readonly container: HTMLElement;
  private readonly keyTarget: Window;
  private readonly renderer: THREE.WebGLRenderer;
  private readonly camera: THREE.PerspectiveCamera;
  private controls: OrbitControls;
  private readonly overlay = new THREE.Scene();
  private readonly frusta = new FrustumOverlay();
  private viewer: Viewer | null = null;
  private bounds: Bounds | null = null;
  /** The loaded scene's own RGBA colours (sceneColors), copied before anything recolours a splat. */
  private ownColors = new Uint8Array(0);
  private sceneRadius = 1;
  private paused = false;
  private overlayDirty = true;
  private frames = 0;
  /** Whether the previous animation frame drew: then the time between the two is a frame time. */
  private drewLastTick = false;
  private lastTime = performance.now();
  private rafId = 0;
  private disposed = false;
  private readonly heldKeys = new Set<string>();
  private shiftHeld = false;
  private readonly frameListeners: ((s: FrameStats) => void)[] = [];
  private readonly pickListeners: ((index: number) => void)[] = [];
  private readonly failureListeners: ((message: string) => void)[] = [];
  /** Resolvers waiting for the first frame drawn with every splat of a fresh load. */
  private firstFrameWaiters: (() => void)[] = [];
  private readonly resizeObserver: ResizeObserver;
  private readonly cleanups: (() => void)[] = [];

  constructor(options: Splats3dViewportOptions) {
    this.canvas = options.canvas;
    this.container = options.container;
    this.keyTarget = options.keyTarget;
    this.renderer = new THREE.WebGLRenderer({ canvas: this.canvas, antialias: false, precision: 'highp', preserveDrawingBuffer: false });
    this.renderer.setPixelRatio(1);
    // Transparent clear: the page background shows behind the splats.
    this.renderer.setClearColor(new THREE.Color(0x000000), 0);
    this.camera = new THREE.PerspectiveCamera(50, 1, 0.01, 1000);
    this.camera.up.set(...GAUSSIAN_SPLATTING_UP);
    this.camera.position.set(0, 0, -5);
    this.camera.lookAt(0, 0, 0);
    this.controls = this.createControls();
    this.overlay.add(this.frusta.group);

    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(this.container);
    this.resize();

    const onKeyDown = (e: KeyboardEvent) => {
      if (!keyIsForEditor(e.target)) return;
      this.shiftHeld = e.shiftKey;
      if (FLY_KEYS[e.code]) this.heldKeys.add(e.code);
    };
    const onKeyUp = (e: KeyboardEvent) => {
      this.shiftHeld = e.shiftKey;
      this.heldKeys.delete(e.code);
    };
    const onBlur = () => this.heldKeys.clear();
    this.keyTarget.addEventListener('keydown', onKeyDown);
    this.keyTarget.addEventListener('keyup', onKeyUp);
    this.keyTarget.addEventListener('blur', onBlur);
    this.cleanups.push(() => {
      this.keyTarget.removeEventListener('keydown', onKeyDown);
      this.keyTarget.removeEventListener('keyup', onKeyUp);
      this.keyTarget.removeEventListener('blur', onBlur);
    });

    // A click (not a drag) on a drawn camera jumps to it.
    let down: { x: number; y: number } | null = null;
    const onPointerDown = (e: PointerEvent) => { down = { x: e.clientX, y: e.clientY }; };
    const onPointerUp = (e: PointerEvent) => {
      if (down && Math.hypot(e.clientX - down.x, e.clientY - down.y) < 4) this.pickAt(e.clientX, e.clientY);
      down = null;
    };
    this.canvas.addEventListener('pointerdown', onPointerDown);
    this.canvas.addEventListener('pointerup', onPointerUp);
    this.cleanups.push(() => {
      this.canvas.removeEventListener('pointerdown', onPointerDown);
      this.canvas.removeEventListener('pointerup', onPointerUp);
    });

    // Software GL under memory pressure, a driver reset or too many contexts can take WebGL away.
    const onContextLost = (e: Event) => {
      e.preventDefault();
      for (const l of this.failureListeners) {
        l('The 3D view lost its graphics context (out of GPU memory, or the driver was reset). Reload the window to continue; your project is saved.');
      }
    };
    this.canvas.addEventListener('webglcontextlost', onContextLost);
    this.cleanups.push(() => this.canvas.removeEventListener('webglcontextlost', onContextLost));

    this.rafId = requestAnimationFrame(this.tick);
  }

  async load(options: LoadOptions): Promise<{ splatCount: number }> {
    if (!globalThis.crossOriginIsolated) {
      // Without SharedArrayBuffer the library's addSplatScene never settles: fail loudly instead.
      throw new Error('The splat viewer needs a cross-origin isolated page (COOP/COEP headers). Open the app through saga-studio, not as a plain file.');
    }
    await this.clear();
    const viewer = new Viewer({
      rootElement: this.container,
      renderer: this.renderer,
      camera: this.camera,
      threeScene: this.overlay,
      selfDrivenMode: false,
      useBuiltInControls: false,
      sharedMemoryForWorkers: true,
      // Keep splat i = PLY row i: no reordering, no dropping of faint splats.
      optimizeSplatData: false,
      renderMode: RenderMode.OnChange,
      sceneRevealMode: SceneRevealMode.Instant,
      logLevel: LogLevel.None,
      sphericalHarmonicsDegree: 0,
    });
    this.viewer = viewer;
    const loading = viewer.addSplatScene(options.url, {
      format: options.format === 'ply' ? SceneFormat.Ply : SceneFormat.Splat,
      showLoadingUI: false,
      progressiveLoad: false,
      splatAlphaRemovalThreshold: 0,
      onProgress: (percent) => options.onProgress?.(percent),
    });
    const onAbort = () => loading.abort('Loading was cancelled.');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    // The library's parsers throw inside detached promise chains: such a failure surfaces only as
    // an unhandled rejection and `loading` never settles. Treat one of the library's during the load
    // as its failure; others are the app's, left to the console (see viewer-rejection.ts).
    let removeCrashWatch = () => {};
    const crashed = new Promise<never>((_, reject) => {
      const onRejection = (e: PromiseRejectionEvent) => {
        if (!isViewerLibraryRejection(e.reason)) return;
        e.preventDefault();
        reject(new Error(`The viewer could not read this scene (${describeReason(e.reason)}).`));
      };
      window.addEventListener('unhandledrejection', onRejection);
      removeCrashWatch = () => window.removeEventListener('unhandledrejection', onRejection);
    });
    try {
      await Promise.race([loading, crashed]);
    } catch (e) {
      loading.abort('failed');
      if (this.viewer === viewer) await this.clear();
      throw e instanceof Error ? e : new Error(String(e));
    } finally {
      removeCrashWatch();
      options.signal?.removeEventListener('abort', onAbort);
    }
    if (this.viewer !== viewer) throw new Error('Loading was replaced by another scene.');
    // The library animates a reveal and redraws every frame until it ends (hundreds of frames;
    // minutes at llvmpipe speeds). We show the scene at once (SceneRevealMode.Instant), so finish
    // the animation now and let the viewport draw only when something changes.
    viewer.splatMesh.visibleRegionFadeStartRadius = viewer.splatMesh.visibleRegionBufferRadius;
    // For the time-to-first-frame benchmark: bytes fetched and parsed, splats uploaded.
    performance.mark(MARK_SPLATS_LOADED);
    this.ownColors = viewer.splatMesh.splatDataTextures.baseData.colors.slice(0, this.splatCount() * 4);
    const sample = this.sampleSplats(viewer);
    this.bounds = robustBounds(sample.centers, sample.opacities);
    this.sceneRadius = boundsRadius(this.bounds);
    // The start pose is set before the first frame, so the first pixels are already the right view.
    this.setUp(options.up, false);
    this.frusta.setViews(options.views ?? [], Math.max(this.sceneRadius * FRUSTUM_DEPTH, 1e-3));
    if (options.startView !== undefined && this.frusta.view(options.startView)) this.jumpToView(options.startView);
    else this.frameScene(initialViewDirection(this.bounds, options.up));
    performance.mark(MARK_FRAMED);
    await new Promise<void>((resolve) => this.firstFrameWaiters.push(resolve));
    return { splatCount: this.splatCount() };
  }

  async clear(): Promise<void> {
    const viewer = this.viewer;
    this.viewer = null;
    this.bounds = null;
    this.ownColors = new Uint8Array(0);
    this.frusta.clear();
    if (viewer) await viewer.dispose();
    this.markDirty();
  }

  splatCount(): number {
    return this.viewer?.splatMesh.getSplatCount() ?? 0;
  }

  /** Frames the scene looking along `direction`, or along the current view direction. */
  frameScene(direction?: Vec3): void {
    if (!this.bounds) return;
    const dir = new THREE.Vector3();
    if (direction) dir.set(...direction);
    else this.camera.getWorldDirection(dir);
    const up = this.camera.up;
    const framed = frameBounds(this.bounds, [dir.x, dir.y, dir.z], this.camera.fov, this.camera.aspect, [up.x, up.y, up.z]);
    this.sceneRadius = framed.radius;
    this.camera.position.set(...framed.position);
    this.setClipPlanes();
    this.controls.target.set(...framed.target);
    this.controls.update();
    this.markDirty();
  }

  setUp(up: Vec3, keepView = true): void {
    const current = this.camera.up;
    if (Math.abs(current.x - up[0]) + Math.abs(current.y - up[1]) + Math.abs(current.z - up[2]) < 1e-9) return;
    // OrbitControls reads camera.up once, when made: a new up needs new controls.
    const target = this.controls.target.clone();
    this.controls.dispose();
    this.camera.up.set(...up);
    this.controls = this.createControls();
    this.controls.target.copy(target);
    // Re-aim with the new up: the camera rolls over and the scene shows the other way up at once.
    if (keepView) this.camera.lookAt(target);
    this.controls.update();
    this.markDirty();
  }

  setViewsVisible(visible: boolean): void {
    this.frusta.group.visible = visible;
    this.markDirty();
  }

  jumpToView(index: number): void {
    const view = this.frusta.view(index);
    if (!view) return;
    const pose = poseFromCamera(view);
    this.camera.position.set(...pose.position);
    this.camera.quaternion.set(...pose.quaternion);
    this.camera.fov = pose.fovYDegrees;
    this.setClipPlanes();
    // Keep orbiting around a point in front of the view, at the distance of the scene centre.
    const forward = new THREE.Vector3(0, 0, -1).applyQuaternion(this.camera.quaternion);
    const centre = this.bounds ? boundsCentre(this.bounds) : [0, 0, 0];
    const distance = Math.max(new THREE.Vector3(...centre).sub(this.camera.position).dot(forward), this.sceneRadius * 0.1);
    this.controls.target.copy(this.camera.position).addScaledVector(forward, distance);
    this.controls.update();
    // OrbitControls.update re-aims at the target, which is on the view axis, so the view is kept.
    this.frusta.choose(index);
    this.markDirty();
  }

  onViewPicked(listener: (index: number) => void): void {
    this.pickListeners.push(listener);
  }

  onFrame(listener: (stats: FrameStats) => void): void {
    this.frameListeners.push(listener);
  }

  onFailure(listener: (message: string) => void): void {
    this.failureListeners.push(listener);
  }

  /** The viewport's own copy: read it, never change it. */
  sceneColors(): Uint8Array {
    return this.ownColors;
  }

  setSplatColors(colors: Uint8Array, target: { first: number } | { indices: Uint32Array } = { first: 0 }): void {
    const viewer = this.viewer;
    if (!viewer) return;
    const { data, texture, size } = viewer.splatMesh.splatDataTextures.centerColors;
    const ranges = writeSplatColors(data, size.x, this.splatCount(), colors, target);
    if (ranges.length === 0) return;
    for (const r of ranges) texture.addUpdateRange(r.start, r.count);
    texture.needsUpdate = true;
    // Upload now, not at the next draw: the cost is paid (and measured) here, and a paused render
    // loop already holds the new colours when it resumes.
    this.renderer.initTexture(texture);
    this.markDirty();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.markDirty();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    cancelAnimationFrame(this.rafId);
    this.resizeObserver.disconnect();
    for (const c of this.cleanups) c();
    this.controls.dispose();
    await this.clear();
    this.renderer.dispose();
  }

  private createControls(): OrbitControls {
    const controls = new OrbitControls(this.camera, this.canvas);
    controls.enableDamping = false;
    controls.addEventListener('change', () => this.markDirty());
    return controls;
  }

  /** Near and far planes around the scene's size, so it is neither clipped nor z-fighting. */
  private setClipPlanes(): void {
    this.camera.near = this.sceneRadius / 1000;
    this.camera.far = this.sceneRadius * 1000;
    this.camera.updateProjectionMatrix();
  }

  private markDirty(): void {
    this.overlayDirty = true;
    this.viewer?.forceRenderNextFrame();
  }

  private resize(): void {
    const w = Math.max(1, this.container.clientWidth);
    const h = Math.max(1, this.container.clientHeight);
    this.renderer.setSize(w, h, false);
    this.camera.aspect = w / h;
    this.camera.updateProjectionMatrix();
    this.markDirty();
  }

  /** Centres and opacities (0..1) of evenly strided splats, for robust bounds. */
  private sampleSplats(viewer: Viewer): { centers: Float32Array; opacities: Float32Array } {
    const n = viewer.splatMesh.getSplatCount();
    const samples = Math.min(n, FRAMING_SAMPLES);
    const stride = n / Math.max(samples, 1);
    const centers = new Float32Array(samples * 3);
    const opacities = new Float32Array(samples);
    const v = new THREE.Vector3();
    const colour = new THREE.Vector4();
    for (let k = 0; k < samples; k++) {
      const i = Math.floor(k * stride);
      viewer.splatMesh.getSplatCenter(i, v, true);
      centers[k * 3] = v.x;
      centers[k * 3 + 1] = v.y;
      centers[k * 3 + 2] = v.z;
      viewer.splatMesh.getSplatColor(i, colour);
      opacities[k] = colour.w / 255;
    }
    return { centers, opacities };
  }

  private pickAt(clientX: number, clientY: number): void {
    const rect = this.canvas.getBoundingClientRect();
    const index = this.frusta.pick(this.camera, rect.width, rect.height, clientX - rect.left, clientY - rect.top);
    if (index < 0) return;
    this.jumpToView(index);
    for (const l of this.pickListeners) l(index);
  }

  private readonly tick = (now: number): void => {
    if (this.disposed) return;
    this.rafId = requestAnimationFrame(this.tick);
    const dt = (now - this.lastTime) / 1000;
    this.lastTime = now;
    const backToBack = this.drewLastTick;
    this.drewLastTick = false;
    const waitingForFirstFrame = this.firstFrameWaiters.length > 0;
    if (this.paused && !waitingForFirstFrame) return;

    if (this.heldKeys.size > 0) {
      const m = this.camera.matrixWorld.elements;
      const step = flyStep(
        this.heldKeys,
        { right: [m[0]!, m[1]!, m[2]!], up: [m[4]!, m[5]!, m[6]!], forward: [-m[8]!, -m[9]!, -m[10]!] },
        this.sceneRadius,
        dt,
        this.shiftHeld,
      );
      const delta = new THREE.Vector3(...step);
      this.camera.position.add(delta);
      this.controls.target.add(delta);
      this.controls.update();
      this.markDirty();
    }

    // A frustum the camera has moved into is left out, and shown again once it has moved away.
    if (this.frusta.hideAround(this.camera.position)) this.markDirty();

    const start = performance.now();
    const viewer = this.viewer;
    if (viewer) {
      viewer.update();
      if (!viewer.shouldRender() && !this.overlayDirty) return;
      if (!viewer.splatRenderReady) return;
      viewer.render();
      // Without this the library asks for a redraw on every frame forever (its self-driven loop,
      // which we do not use, is what resets the flag).
      viewer.renderNextFrame = false;
    } else {
      if (!this.overlayDirty) return;
      this.renderer.render(this.overlay, this.camera);
    }
    this.overlayDirty = false;
    this.frames++;
    this.drewLastTick = true;
    const stats: FrameStats = { cpuMs: performance.now() - start, intervalMs: backToBack ? dt * 1000 : null, frames: this.frames };
    for (const l of this.frameListeners) l(stats);
    if (viewer && waitingForFirstFrame) {
      // Wait for the GPU to finish this frame (a 1-pixel read blocks until it has), so "first
      // frame" means pixels on screen, not commands queued.
      const gl = this.renderer.getContext();
      gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(4));
      const waiters = this.firstFrameWaiters;
      this.firstFrameWaiters = [];
      for (const w of waiters) w();
    }
  };
}

function describeReason(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

function boundsCentre(b: Bounds): Vec3 {
  return [(b.min[0] + b.max[0]) / 2, (b.min[1] + b.max[1]) / 2, (b.min[2] + b.max[2]) / 2];
}
