/**
 * The small part of @mkkellogg/gaussian-splats-3d (ships no types) that splats3d-viewport.ts uses.
 * Kept minimal on purpose: anything not declared here is not relied upon.
 */
declare module '@mkkellogg/gaussian-splats-3d' {
  import type { Camera, DataTexture, Scene, Vector2, Vector3, Vector4, WebGLRenderer } from 'three';

  export const SceneFormat: { readonly Splat: 0; readonly KSplat: 1; readonly Ply: 2; readonly Spz: 3 };
  export const RenderMode: { readonly Always: 0; readonly OnChange: 1; readonly Never: 2 };
  export const SceneRevealMode: { readonly Default: 0; readonly Gradual: 1; readonly Instant: 2 };
  export const LogLevel: { readonly None: 0; readonly Error: 1; readonly Warning: 2; readonly Info: 3; readonly Debug: 4 };

  export interface ViewerOptions {
    rootElement?: HTMLElement;
    renderer?: WebGLRenderer;
    camera?: Camera;
    threeScene?: Scene;
    selfDrivenMode?: boolean;
    useBuiltInControls?: boolean;
    sharedMemoryForWorkers?: boolean;
    optimizeSplatData?: boolean;
    dynamicScene?: boolean;
    renderMode?: number;
    sceneRevealMode?: number;
    logLevel?: number;
    sphericalHarmonicsDegree?: number;
    ignoreDevicePixelRatio?: boolean;
    gpuAcceleratedSort?: boolean;
    integerBasedSort?: boolean;
    freeIntermediateSplatData?: boolean;
  }

  export interface AddSplatSceneOptions {
    format?: number;
    showLoadingUI?: boolean;
    progressiveLoad?: boolean;
    splatAlphaRemovalThreshold?: number;
    onProgress?: (percent: number, label: string, status: number) => void;
  }

  /** The library's promise with an abort handle. */
  export interface AbortablePromise<T> extends PromiseLike<T> {
    abort(reason?: string): void;
    catch(onRejected: (reason: unknown) => void): PromiseLike<T>;
  }

  /** The splat data the shaders read. Kept while `freeIntermediateSplatData` is false (its default). */
  export interface SplatDataTextures {
    /** Per splat, as loaded: 8-bit RGBA colours (alpha = opacity), the source of `centerColors`. */
    baseData: {
      colors: Uint8Array;
      /** xyz per splat (the scene's own coordinates: we load with no scene transform). */
      centers: Float32Array;
      /** Six covariance entries per splat (xx, xy, xz, yy, yz, zz); half-float bit patterns when the material says so. */
      covariances: Float32Array;
    };
    /**
     * One RGBA32UI texel per splat: packed RGBA colour, then the centre's floats as bits. `data` is
     * the texture's own array (`texture.image.data`), `size` its width and height in texels.
     */
    centerColors: { data: Uint32Array; texture: DataTexture; size: Vector2 };
  }

  export interface SplatMesh {
    splatDataTextures: SplatDataTextures;
    /** The splat shader's material; `covariancesAreHalfFloat` is 1 when the covariances are kept as half floats. */
    material: { uniforms: { covariancesAreHalfFloat?: { value: number } } };
    /** Reveal animation state: the scene counts as "changing" (and is redrawn) until start ≈ buffer radius. */
    visibleRegionFadeStartRadius: number;
    visibleRegionBufferRadius: number;
    getSplatCount(includeSinceLastBuild?: boolean): number;
    getSplatCenter(globalIndex: number, outCenter: Vector3, applySceneTransform?: boolean): void;
    /** Colour as 0..255 RGBA; alpha is the splat's opacity. */
    getSplatColor(globalIndex: number, outColor: Vector4): void;
  }

  export class Viewer {
    constructor(options: ViewerOptions);
    splatMesh: SplatMesh;
    splatRenderReady: boolean;
    /** Set by forceRenderNextFrame(); only the library's own loop clears it, so we do when driving. */
    renderNextFrame: boolean;
    addSplatScene(url: string, options?: AddSplatSceneOptions): AbortablePromise<void>;
    update(): void;
    render(): void;
    shouldRender(): boolean;
    forceRenderNextFrame(): void;
    dispose(): Promise<void>;
  }
}
