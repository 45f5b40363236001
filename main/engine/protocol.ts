/**
 * What a host of the engine answers: the requests the backend sends to the GPU engine, each with its
 * params and result. They travel on the contract's RPC (main/contract/rpc.ts) over a MessagePort:
 * to a Node worker thread holding Dawn (main/host/engine-worker.ts), or to a window holding
 * Chromium's WebGPU. Typed arrays ride as binary attachments, never as JSON numbers.
 */
import type { Camera } from '../scene/camera.ts';
import type { GaussianScene } from '../scene/gaussians.ts';
import type { RenderOptions, RenderOutput } from './raster/reference.ts';
import type { RasterTimings } from './raster/rasterizer.ts';

export type ViewOptions = Pick<RenderOptions, 'width' | 'height' | 'background' | 'shDegree'>;

/** The scene as the engine needs it (extra properties stay in the backend). */
export type EngineScene = Omit<GaussianScene, 'extras' | 'source'>;

export interface EngineInitOptions {
  /** Test hook: cap per-binding buffer sizes to exercise chunking (see RasterizerOptions). */
  maxBindingBytes?: number;
  /** Where tile entries are sorted (default: CPU on software adapters, else GPU). */
  sort?: 'gpu' | 'cpu';
  /** Where the cached training step runs (default: WebAssembly SIMD on software adapters, else GPU). */
  training?: 'gpu' | 'wasm';
}

export interface EngineInfo {
  adapter: string;
  sort: 'gpu' | 'cpu';
  training: 'gpu' | 'wasm';
}

export interface EngineMethods {
  'engine.init': { params: EngineInitOptions; result: EngineInfo };
  'engine.loadScene': { params: { scene: EngineScene }; result: { count: number } };
  'engine.setFeatures': { params: { features: Float32Array; dim: number }; result: null };
  'engine.render': { params: { camera: Camera; options: RenderOptions }; result: RenderOutput };
  /** Caches a view's blending weights for repeated feature forward/backward (training). */
  'engine.prepareView': { params: { camera: Camera; options: ViewOptions }; result: { view: number; contributions: number; image: RenderOutput } };
  /** The feature map of a prepared view, or with `pixels` only those pixels' features (one row each). */
  'engine.forwardFeatures': { params: { view: number; features?: Float32Array; pixels?: Uint32Array }; result: Float32Array };
  /**
   * dLoss/dFeatures for a prepared view from the feature map's gradient (or, with `pixels`, one
   * gradient row per listed pixel); with keepOnGpu the gradient stays in the engine for adamStep
   * (empty result).
   */
  'engine.backwardFeatures': { params: { view: number; grad: Float32Array; keepOnGpu?: boolean; pixels?: Uint32Array }; result: Float32Array };
  'engine.releaseView': { params: { view: number }; result: null };
  'engine.adamStep': { params: { lr: number; beta1?: number; beta2?: number; eps?: number }; result: { step: number } };
  /** Restores the Adam moments and step count of the resident features (resuming a checkpoint). */
  'engine.setAdamState': { params: { m: Float32Array; v: Float32Array; step: number }; result: null };
  'engine.readAdamState': { params: Record<string, never>; result: { m: Float32Array; v: Float32Array; step: number } };
  'engine.readFeatures': { params: Record<string, never>; result: Float32Array };
  'engine.timings': { params: Record<string, never>; result: RasterTimings };
}

export type EngineMethod = keyof EngineMethods;
