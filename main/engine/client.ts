/**
 * EngineClient: the Node-side handle on the GPU engine. The Dawn device lives in a worker thread
 * (main/host/engine-worker.ts); this class only posts typed messages, so the calling thread may
 * block (reference renders, file IO) without endangering the device.
 */
import { Worker } from 'node:worker_threads';
import { SagaError, type SagaErrorData } from '../contract/errors.ts';
import type { Camera } from '../scene/camera.ts';
import type { GaussianScene } from '../scene/gaussians.ts';
import type { RenderOptions, RenderOutput } from './raster/reference.ts';
import type { RasterTimings } from './raster/rasterizer.ts';

export type ViewOptions = Pick<RenderOptions, 'width' | 'height' | 'background' | 'shDegree'>;

/** Requests the worker understands, each with its result type. */
export interface EngineRequests {
  init: {
    args: { maxBindingBytes?: number; sort?: 'gpu' | 'cpu'; training?: 'gpu' | 'wasm' };
    result: { adapter: string; sort: 'gpu' | 'cpu'; training: 'gpu' | 'wasm' };
  };
  loadScene: { args: { scene: GaussianScene }; result: { count: number } };
  setFeatures: { args: { features: Float32Array; dim: number }; result: null };
  render: { args: { camera: Camera; options: RenderOptions }; result: RenderOutput };
  prepareView: { args: { camera: Camera; options: ViewOptions }; result: { view: number; contributions: number; image: RenderOutput } };
  forwardFeatures: { args: { view: number; features?: Float32Array }; result: Float32Array };
  backwardFeatures: { args: { view: number; grad: Float32Array; keepOnGpu?: boolean }; result: Float32Array };
  releaseView: { args: { view: number }; result: null };
  adamStep: { args: { lr: number; beta1?: number; beta2?: number; eps?: number }; result: { step: number } };
  readFeatures: { args: Record<string, never>; result: Float32Array };
  timings: { args: Record<string, never>; result: RasterTimings };
}

export type EngineRequestType = keyof EngineRequests;

export interface EngineRequestMessage<T extends EngineRequestType = EngineRequestType> {
  id: number;
  type: T;
  args: EngineRequests[T]['args'];
}

export type EngineResponseMessage =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: SagaErrorData };

export interface EngineStartOptions {
  /** Test hook: cap per-binding buffer sizes to exercise chunking (see RasterizerOptions). */
  maxBindingBytes?: number;
  /** Where tile entries are sorted (default: CPU on software adapters, else GPU). */
  sort?: 'gpu' | 'cpu';
  /** Where the cached training step runs (default: WebAssembly SIMD on software adapters, else GPU). */
  training?: 'gpu' | 'wasm';
}

export class EngineClient {
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private closed = false;
  adapter = '';
  /** Where this engine sorts tile entries. */
  sort: 'gpu' | 'cpu' = 'gpu';
  training: 'gpu' | 'wasm' = 'gpu';

  private constructor(private readonly worker: Worker) {
    worker.on('message', (msg: EngineResponseMessage) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(SagaError.fromJSON(msg.error));
    });
    worker.on('error', (e) => this.failAll(new SagaError('ENGINE_CRASHED', `The GPU engine crashed: ${e.message}. Restart the command.`, undefined, { cause: e })));
    worker.on('exit', (code) => {
      if (!this.closed) this.failAll(new SagaError('ENGINE_CRASHED', `The GPU engine stopped unexpectedly (exit code ${code}). Restart the command.`));
    });
  }

  /** Starts the engine worker and its GPU device. */
  static async start(options: EngineStartOptions = {}): Promise<EngineClient> {
    // A tiny bootstrap registers tsx inside the worker: on Node 20, `--import tsx` in execArgv does
    // not reach a worker whose entry is a .ts file.
    const entry = new URL('../host/engine-worker.ts', import.meta.url).href;
    const bootstrap = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
    const worker = new Worker(bootstrap, { eval: true });
    const client = new EngineClient(worker);
    try {
      const { adapter, sort, training } = await client.call('init', {
        maxBindingBytes: options.maxBindingBytes, sort: options.sort, training: options.training,
      });
      client.adapter = adapter;
      client.sort = sort;
      client.training = training;
    } catch (e) {
      await client.close();
      throw e;
    }
    return client;
  }

  private failAll(error: Error): void {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  call<T extends EngineRequestType>(type: T, args: EngineRequests[T]['args'], transfer: ArrayBuffer[] = []): Promise<EngineRequests[T]['result']> {
    if (this.closed) return Promise.reject(new SagaError('ENGINE_CRASHED', 'The GPU engine was closed.'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      const message: EngineRequestMessage<T> = { id, type, args };
      this.worker.postMessage(message, transfer);
    });
  }

  /** Uploads a scene (extras are not sent: the renderer does not need them). */
  loadScene(scene: GaussianScene): Promise<{ count: number }> {
    const { extras: _extras, source: _source, ...rest } = scene;
    return this.call('loadScene', { scene: { ...rest, extras: [] } });
  }

  setFeatures(features: Float32Array, dim: number): Promise<null> {
    return this.call('setFeatures', { features, dim });
  }

  render(camera: Camera, options: RenderOptions = {}): Promise<RenderOutput> {
    return this.call('render', { camera, options });
  }

  /** Caches a view's blending weights for repeated feature forward/backward (training). */
  prepareView(camera: Camera, options: ViewOptions = {}): Promise<{ view: number; contributions: number; image: RenderOutput }> {
    return this.call('prepareView', { camera, options });
  }

  forwardFeatures(view: number, features?: Float32Array): Promise<Float32Array> {
    return this.call('forwardFeatures', { view, features });
  }

  backwardFeatures(view: number, grad: Float32Array, keepOnGpu = false): Promise<Float32Array> {
    return this.call('backwardFeatures', { view, grad, keepOnGpu });
  }

  /** One Adam step on the engine-resident features from the last backward pass (see GaussianRasterizer.adamStep). */
  adamStep(options: { lr: number; beta1?: number; beta2?: number; eps?: number }): Promise<{ step: number }> {
    return this.call('adamStep', options);
  }

  readFeatures(): Promise<Float32Array> {
    return this.call('readFeatures', {});
  }

  releaseView(view: number): Promise<null> {
    return this.call('releaseView', { view });
  }

  timings(): Promise<RasterTimings> {
    return this.call('timings', {});
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new SagaError('CANCELLED', 'The GPU engine was closed.'));
    await this.worker.terminate();
  }
}
