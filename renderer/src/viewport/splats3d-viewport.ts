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
import type { Camera } from '../../../main/scene/camera.ts';
import { boundsRadius, cameraFromPose, frameBounds, GAUSSIAN_SPLATTING_UP, initialViewDirection, poseFromCamera, robustBounds, type Bounds, type Vec3 } from './camera-math.ts';
import { FLY_KEYS, flyStep } from './fly.ts';
import { FrustumOverlay } from './frusta.ts';
import { drawSelectionHint, splatRadii, type HintScene, type HintScratch } from './selection-hint.ts';
import { writeSplatColors } from './splat-texture.ts';
import type { CanvasClick, FrameStats, LoadOptions, Viewport } from './viewport.ts';

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

/** A press that moved less than this many CSS pixels is a click (prompt-gesture.ts says the same). */
const CLICK_SLOP_PX = 4;

export class Splats3dViewport implements Viewport {
  readonly canvas: HTMLCanvasElement;
  private readonly container: HTMLElement;
  private readonly keyTarget: Window;
  private readonly renderer: THREE.WebGLRenderer;
  private readonly threeCamera: THREE.PerspectiveCamera;
  private controls: OrbitControls;
  private readonly overlay = new THREE.Scene();
  private readonly frusta = new FrustumOverlay();
  private viewer: Viewer | null = null;
  private bounds: Bounds | null = null;
  /** The loaded scene's own RGBA colours (sceneColors), copied before anything recolours a splat. */
  private ownColors = new Uint8Array(0);
  private sceneRadius = 1;
  private paused = false;
  /** The left button draws prompts instead of orbiting (setPromptDrags); new controls keep it. */
  private promptDrags = false;
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
  private readonly clickListeners: ((click: CanvasClick) => void)[] = [];
  /** The training view the camera sits exactly at (jumpToView), until it moves. */
  private atViewIndex: number | null = null;
  /** Resolvers of whenDrawn(), waiting for the next frame to be drawn. */
  private drawnWaiters: (() => void)[] = [];
  /** Resolvers waiting for the first frame drawn with every splat of a fresh load. */
  private firstFrameWaiters: (() => void)[] = [];
  private readonly resizeObserver: ResizeObserver;
  private readonly cleanups: (() => void)[] = [];
  /** The selection hint's 2D canvas over the splats (showSelectionHint); empty between hints. */
  private readonly hintCanvas: HTMLCanvasElement;
  /**
   * The hint on screen: redrawn for the new camera after a frame that moved it, and taken away after
   * the frame that draws recoloured splats (setSplatColors makes it obsolete).
   */
  private hint: { selected: Uint8Array; tint: readonly [number, number, number]; obsolete: boolean } | null = null;
  /** The loaded splats' centres, colours and sizes as the hint needs them (made at the first hint). */
  private hintScene: HintScene | null = null;
  private hintScratch: HintScratch | undefined;
  private hintImage: ImageData | undefined;

  constructor(options: Splats3dViewportOptions) {
    this.canvas = options.canvas;
    this.container = options.container;
    this.keyTarget = options.keyTarget;
    this.renderer = new THREE.WebGLRenderer({ canvas: this.canvas, antialias: false, precision: 'highp', preserveDrawingBuffer: false });
    this.renderer.setPixelRatio(1);
    // Transparent clear: the page background shows behind the splats.
    this.renderer.setClearColor(new THREE.Color(0x000000), 0);
    this.threeCamera = new THREE.PerspectiveCamera(50, 1, 0.01, 1000);
    this.threeCamera.up.set(...GAUSSIAN_SPLATTING_UP);
    this.threeCamera.position.set(0, 0, -5);
    this.threeCamera.lookAt(0, 0, 0);
    this.controls = this.createControls();
    this.overlay.add(this.frusta.group);
    this.hintCanvas = document.createElement('canvas');
    this.hintCanvas.dataset.testid = 'selection-hint';
    this.hintCanvas.setAttribute('aria-hidden', 'true');
    Object.assign(this.hintCanvas.style, { position: 'absolute', inset: '0', width: '100%', height: '100%', pointerEvents: 'none', display: 'block' });
    this.container.append(this.hintCanvas);
    this.cleanups.push(() => this.hintCanvas.remove());

    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(this.container);
    this.resize();

    const onKeyDown = (e: KeyboardEvent) => {
      if (!keyIsForEditor(e.target)) return;
      this.shiftHeld = e.shiftKey;
      // Ctrl+S, Alt+A and the like are shortcuts, not flight (Shift only speeds flying up).
      if (FLY_KEYS[e.code] && !e.ctrlKey && !e.metaKey && !e.altKey) this.heldKeys.add(e.code);
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

    // A click (not a drag) on a drawn camera jumps to it; any other click of the left button is
    // the app's (a prompt).
    let down: { x: number; y: number } | null = null;
    const onPointerDown = (e: PointerEvent) => {
      down = e.button === 0 ? { x: e.clientX, y: e.clientY } : null;
    };
    const onPointerUp = (e: PointerEvent) => {
      if (down && Math.hypot(e.clientX - down.x, e.clientY - down.y) < CLICK_SLOP_PX && !this.pickAt(e.clientX, e.clientY)) {
        const at = this.canvasPoint(e.clientX, e.clientY);
        const click: CanvasClick = { ...at, shiftKey: e.shiftKey, ctrlKey: e.ctrlKey, metaKey: e.metaKey, altKey: e.altKey };
        for (const l of this.clickListeners) l(click);
      }
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
      camera: this.threeCamera,
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
    this.hintScene = null;
    this.clearSelectionHint();
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
    else this.threeCamera.getWorldDirection(dir);
    const up = this.threeCamera.up;
    const framed = frameBounds(this.bounds, [dir.x, dir.y, dir.z], this.threeCamera.fov, this.threeCamera.aspect, [up.x, up.y, up.z]);
    this.sceneRadius = framed.radius;
    this.threeCamera.position.set(...framed.position);
    this.setClipPlanes();
    this.controls.target.set(...framed.target);
    this.controls.update();
    this.atViewIndex = null;
    this.markDirty();
  }

  setUp(up: Vec3, keepView = true): void {
    const current = this.threeCamera.up;
    if (Math.abs(current.x - up[0]) + Math.abs(current.y - up[1]) + Math.abs(current.z - up[2]) < 1e-9) return;
    // OrbitControls reads camera.up once, when made: a new up needs new controls.
    const target = this.controls.target.clone();
    this.controls.dispose();
    this.threeCamera.up.set(...up);
    this.controls = this.createControls();
    this.controls.target.copy(target);
    // Re-aim with the new up: the camera rolls over and the scene shows the other way up at once.
    if (keepView) this.threeCamera.lookAt(target);
    this.controls.update();
    this.atViewIndex = null;
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
    this.threeCamera.position.set(...pose.position);
    this.threeCamera.quaternion.set(...pose.quaternion);
    this.threeCamera.fov = pose.fovYDegrees;
    this.setClipPlanes();
    // Keep orbiting around a point in front of the view, at the distance of the scene centre.
    const forward = new THREE.Vector3(0, 0, -1).applyQuaternion(this.threeCamera.quaternion);
    const centre = this.bounds ? boundsCentre(this.bounds) : [0, 0, 0];
    const distance = Math.max(new THREE.Vector3(...centre).sub(this.threeCamera.position).dot(forward), this.sceneRadius * 0.1);
    this.controls.target.copy(this.threeCamera.position).addScaledVector(forward, distance);
    this.controls.update();
    // OrbitControls.update re-aims at the target, which is on the view axis, so the view is kept.
    this.frusta.choose(index);
    // Set after the update above, whose change event would clear it.
    this.atViewIndex = index;
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

  onClick(listener: (click: CanvasClick) => void): void {
    this.clickListeners.push(listener);
  }

  camera(): Camera {
    this.threeCamera.updateMatrixWorld();
    const q = this.threeCamera.quaternion;
    const p = this.threeCamera.position;
    return cameraFromPose({ position: [p.x, p.y, p.z], quaternion: [q.x, q.y, q.z, q.w], fovYDegrees: this.threeCamera.fov }, this.canvas.width, this.canvas.height);
  }

  atView(): number | null {
    return this.atViewIndex;
  }

  canvasPoint(clientX: number, clientY: number): { x: number; y: number } {
    const rect = this.canvas.getBoundingClientRect();
    return { x: ((clientX - rect.left) * this.canvas.width) / Math.max(rect.width, 1), y: ((clientY - rect.top) * this.canvas.height) / Math.max(rect.height, 1) };
  }

  setPromptDrags(on: boolean): void {
    // The left button then draws the prompt (the app listens on the canvas); right still pans and
    // the wheel zooms.
    this.controls.mouseButtons.LEFT = on ? null : THREE.MOUSE.ROTATE;
    this.promptDrags = on;
  }

  whenDrawn(): Promise<void> {
    if (!this.viewer || this.paused) return Promise.resolve();
    this.markDirty();
    return new Promise((resolve) => this.drawnWaiters.push(resolve));
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
    // The splats will show the state themselves from the next frame on.
    if (this.hint) this.hint.obsolete = true;
    this.markDirty();
  }

  async showSelectionHint(selected: Uint8Array, tint: readonly [number, number, number]): Promise<number> {
    if (!this.viewer || this.paused) return 0;
    this.hint = { selected, tint, obsolete: false };
    const drawn = this.drawSelectionHint();
    // On screen once a frame has been produced after the draw: the second animation frame from now.
    await new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve())));
    return drawn;
  }

  dropSelectionHint(): void {
    if (!this.hint) return;
    this.hint.obsolete = true;
    this.markDirty();
  }

  /** Draws `this.hint` for the camera now; returns the splats drawn. */
  private drawSelectionHint(): number {
    const viewer = this.viewer;
    const canvas = this.hintCanvas;
    const context = canvas.getContext('2d');
    if (!viewer || !this.hint || !context) return 0;
    const { width, height } = this.canvas;
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    this.threeCamera.updateMatrixWorld();
    const viewProjection = new THREE.Matrix4().multiplyMatrices(this.threeCamera.projectionMatrix, this.threeCamera.matrixWorldInverse);
    // Reused while the size holds (the hint is redrawn on every frame of an orbit); drawing clears it.
    if (this.hintImage?.width !== width || this.hintImage.height !== height) this.hintImage = context.createImageData(width, height);
    const image = this.hintImage;
    const { drawn, tinted, scratch } = drawSelectionHint(
      this.hintSceneFor(viewer),
      { viewProjection: viewProjection.elements, focalY: this.threeCamera.projectionMatrix.elements[5]!, width, height },
      this.hint.selected,
      new Uint32Array(image.data.buffer),
      this.hint.tint,
      150,
      this.hintScratch,
    );
    this.hintScratch = scratch;
    context.putImageData(image, 0, 0);
    // What the last hint showed (tests read it; the pixels are gone once the splats are recoloured).
    canvas.dataset.drawn = String(drawn);
    canvas.dataset.tinted = String(tinted);
    return drawn;
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
    const controls = new OrbitControls(this.threeCamera, this.canvas);
    controls.enableDamping = false;
    if (this.promptDrags) controls.mouseButtons.LEFT = null;
    controls.addEventListener('change', () => {
      // Moved by the user (orbit, pan, zoom): no longer exactly at a training view.
      this.atViewIndex = null;
      this.markDirty();
    });
    return controls;
  }

  /** Near and far planes around the scene's size, so it is neither clipped nor z-fighting. */
  private setClipPlanes(): void {
    this.threeCamera.near = this.sceneRadius / 1000;
    this.threeCamera.far = this.sceneRadius * 1000;
    this.threeCamera.updateProjectionMatrix();
  }

  /** The splats as the selection hint reads them: the library's own centres and colours, sizes from its covariances. */
  private hintSceneFor(viewer: Viewer): HintScene {
    const count = this.splatCount();
    if (this.hintScene?.count === count) return this.hintScene;
    const mesh = viewer.splatMesh;
    const base = mesh.splatDataTextures.baseData;
    const halfFloat = mesh.material.uniforms.covariancesAreHalfFloat?.value === 1;
    this.hintScene = { centers: base.centers, colors: this.ownColors, radii: splatRadii(base.covariances, count, halfFloat), count, radius: this.sceneRadius };
    return this.hintScene;
  }

  private clearSelectionHint(): void {
    if (!this.hint) return;
    this.hint = null;
    this.hintCanvas.getContext('2d')?.clearRect(0, 0, this.hintCanvas.width, this.hintCanvas.height);
  }

  private markDirty(): void {
    this.overlayDirty = true;
    this.viewer?.forceRenderNextFrame();
  }

  private resize(): void {
    const w = Math.max(1, this.container.clientWidth);
    const h = Math.max(1, this.container.clientHeight);
    this.renderer.setSize(w, h, false);
    this.threeCamera.aspect = w / h;
    this.threeCamera.updateProjectionMatrix();
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

  /** Jumps to the training camera drawn under the pointer; false when there is none. */
  private pickAt(clientX: number, clientY: number): boolean {
    const rect = this.canvas.getBoundingClientRect();
    const index = this.frusta.pick(this.threeCamera, rect.width, rect.height, clientX - rect.left, clientY - rect.top);
    if (index < 0) return false;
    this.jumpToView(index);
    for (const l of this.pickListeners) l(index);
    return true;
  }

  /**
   * Calls `waiters` once the GPU has finished the commands issued so far: a fence polled from
   * timers, so the page never blocks on the GPU (a pixel read would stall it for a whole frame).
   */
  private afterGpu(waiters: (() => void)[]): void {
    const gl = this.renderer.getContext();
    const done = () => {
      for (const w of waiters) w();
    };
    if (!(gl instanceof WebGL2RenderingContext)) return done();
    const sync = gl.fenceSync(gl.SYNC_GPU_COMMANDS_COMPLETE, 0);
    if (!sync) return done();
    gl.flush();
    const poll = () => {
      // A lost context never signals; its loss is reported through onFailure.
      if (this.disposed || gl.isContextLost() || gl.getSyncParameter(sync, gl.SYNC_STATUS) === gl.SIGNALED) {
        gl.deleteSync(sync);
        done();
      } else setTimeout(poll, 2);
    };
    setTimeout(poll, 0);
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
      const m = this.threeCamera.matrixWorld.elements;
      const step = flyStep(
        this.heldKeys,
        { right: [m[0]!, m[1]!, m[2]!], up: [m[4]!, m[5]!, m[6]!], forward: [-m[8]!, -m[9]!, -m[10]!] },
        this.sceneRadius,
        dt,
        this.shiftHeld,
      );
      const delta = new THREE.Vector3(...step);
      this.threeCamera.position.add(delta);
      this.controls.target.add(delta);
      this.controls.update();
      this.atViewIndex = null;
      this.markDirty();
    }

    // A frustum the camera has moved into is left out, and shown again once it has moved away.
    if (this.frusta.hideAround(this.threeCamera.position)) this.markDirty();

    const start = performance.now();
    const viewer = this.viewer;
    if (viewer) {
      viewer.update();
      if (!viewer.shouldRender() && !this.overlayDirty) return;
      if (!viewer.splatRenderReady) return;
      viewer.render();
      // Recoloured splats show the selection themselves; a hint still waiting for them follows the camera.
      if (this.hint?.obsolete) this.clearSelectionHint();
      else if (this.hint) this.drawSelectionHint();
      // Without this the library asks for a redraw on every frame forever (its self-driven loop,
      // which we do not use, is what resets the flag).
      viewer.renderNextFrame = false;
    } else {
      if (!this.overlayDirty) return;
      this.renderer.render(this.overlay, this.threeCamera);
    }
    this.overlayDirty = false;
    this.frames++;
    this.drewLastTick = true;
    const stats: FrameStats = { cpuMs: performance.now() - start, intervalMs: backToBack ? dt * 1000 : null, frames: this.frames };
    for (const l of this.frameListeners) l(stats);
    if (this.drawnWaiters.length > 0) {
      const waiters = this.drawnWaiters;
      this.drawnWaiters = [];
      this.afterGpu(waiters);
    }
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
