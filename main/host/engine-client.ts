/**
 * EngineClient: the Node-side handle on the GPU engine. The Dawn device lives in a worker thread
 * (engine-worker.ts) that answers the contract's RPC (EngineMethods in main/engine/protocol.ts) over
 * a MessagePort, so the calling thread may block (reference renders, file IO, loss math) without
 * endangering the device. Typed arrays travel as binary attachments, transferred, not copied.
 */
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { startWorker } from '../common/start-worker.ts';
import { SagaError, isSagaError } from '../contract/errors.ts';
import { RpcClient } from '../contract/rpc.ts';
import { messagePortTransport } from '../contract/transports/message-port.ts';
import type { EngineInfo, EngineInitOptions, EngineMethods, ViewOptions } from '../engine/protocol.ts';
import type { RenderOptions, RenderOutput } from '../engine/raster/reference.ts';
import type { RasterTimings } from '../engine/raster/rasterizer.ts';
import type { Camera } from '../scene/camera.ts';
import type { GaussianScene } from '../scene/gaussians.ts';

export type { ViewOptions };
export type EngineStartOptions = EngineInitOptions;

export class EngineClient {
  private readonly rpc: RpcClient<EngineMethods>;
  /** Set when the worker died: every call then fails with ENGINE_CRASHED and this reason. */
  private crash: string | undefined;
  private closed = false;
  private readonly crashListeners = new Set<(reason: string) => void>();
  adapter = '';
  /** Where this engine sorts tile entries. */
  sort: 'gpu' | 'cpu' = 'gpu';
  /** Where the cached training step runs. */
  training: 'gpu' | 'wasm' = 'gpu';

  private constructor(private readonly worker: Worker, port: MessagePort) {
    this.rpc = new RpcClient<EngineMethods>(messagePortTransport(port, { transferBytes: true }), {
      onProtocolError: (m) => console.error(`engine link: ${m}`),
    });
    worker.on('error', (e) => this.fail(`the GPU engine crashed: ${e.message}`, port));
    worker.on('exit', (code) => {
      if (!this.closed) this.fail(`the GPU engine stopped unexpectedly (exit code ${code})`, port);
    });
  }

  /** True once the worker died: this client is unusable and a new engine must be started. */
  get crashed(): boolean {
    return this.crash !== undefined;
  }

  /** Called once when the worker dies (not when closed); returns the unsubscribe function. */
  onCrash(listener: (reason: string) => void): () => void {
    this.crashListeners.add(listener);
    return () => this.crashListeners.delete(listener);
  }

  /**
   * Ends the worker the way a crash would (pending and later calls fail with ENGINE_CRASHED, crash
   * listeners run): for a stuck engine, and for tests of crash recovery.
   */
  async kill(): Promise<void> {
    await this.worker.terminate();
  }

  private fail(reason: string, port: { close(): void }): void {
    if (this.crash !== undefined) return;
    this.crash = reason;
    port.close();
    for (const l of [...this.crashListeners]) l(reason);
  }

  /** Starts the engine worker and its GPU device. */
  static async start(options: EngineStartOptions = {}): Promise<EngineClient> {
    const { port1, port2 } = new MessageChannel();
    const worker = startWorker(new URL('./engine-worker.ts', import.meta.url), { workerData: { port: port2 }, transferList: [port2] });
    const client = new EngineClient(worker, port1);
    try {
      const info: EngineInfo = await client.call('engine.init', options);
      client.adapter = info.adapter;
      client.sort = info.sort;
      client.training = info.training;
    } catch (e) {
      await client.close();
      throw e;
    }
    return client;
  }

  /** One engine request; fails with ENGINE_CRASHED once the worker has died. */
  async call<M extends keyof EngineMethods>(method: M, params: EngineMethods[M]['params']): Promise<EngineMethods[M]['result']> {
    if (this.crash) throw crashed(this.crash);
    if (this.closed) throw new SagaError('CANCELLED', 'The GPU engine was closed.');
    try {
      return await this.rpc.call(method, params);
    } catch (e) {
      if (this.closed && isSagaError(e, 'DISCONNECTED')) throw new SagaError('CANCELLED', 'The GPU engine was closed.');
      // The worker's end of the port can close before its 'exit' event arrives: a lost link to a
      // worker nobody closed is the crash, whichever is noticed first.
      if (isSagaError(e, 'DISCONNECTED')) throw crashed(this.crash ?? 'the GPU engine stopped unexpectedly');
      throw e;
    }
  }

  /** Uploads a scene (extras are not sent: the renderer does not need them). */
  loadScene(scene: GaussianScene): Promise<{ count: number }> {
    const { extras: _extras, source: _source, ...rest } = scene;
    return this.call('engine.loadScene', { scene: rest });
  }

  setFeatures(features: Float32Array, dim: number): Promise<null> {
    return this.call('engine.setFeatures', { features, dim });
  }

  render(camera: Camera, options: RenderOptions = {}): Promise<RenderOutput> {
    return this.call('engine.render', { camera, options });
  }

  /** Caches a view's blending weights for repeated feature forward/backward (training). */
  prepareView(camera: Camera, options: ViewOptions = {}): Promise<{ view: number; contributions: number; image: RenderOutput }> {
    return this.call('engine.prepareView', { camera, options });
  }

  forwardFeatures(view: number, features?: Float32Array): Promise<Float32Array> {
    return this.call('engine.forwardFeatures', { view, ...(features ? { features } : {}) });
  }

  /** The features of a prepared view at the listed pixels only (one row per entry). */
  forwardPixels(view: number, pixels: Uint32Array): Promise<Float32Array> {
    return this.call('engine.forwardFeatures', { view, pixels });
  }

  backwardFeatures(view: number, grad: Float32Array, keepOnGpu = false): Promise<Float32Array> {
    return this.call('engine.backwardFeatures', { view, grad, keepOnGpu });
  }

  /** backwardFeatures from gradients at the listed pixels (one row per entry; repeats add up). */
  backwardPixels(view: number, pixels: Uint32Array, grad: Float32Array, keepOnGpu = false): Promise<Float32Array> {
    return this.call('engine.backwardFeatures', { view, grad, pixels, keepOnGpu });
  }

  /** One Adam step on the engine-resident features from the last backward pass (see GaussianRasterizer.adamStep). */
  adamStep(options: { lr: number; beta1?: number; beta2?: number; eps?: number }): Promise<{ step: number }> {
    return this.call('engine.adamStep', options);
  }

  readAdamState(): Promise<{ m: Float32Array; v: Float32Array; step: number }> {
    return this.call('engine.readAdamState', {});
  }

  setAdamState(state: { m: Float32Array; v: Float32Array; step: number }): Promise<null> {
    return this.call('engine.setAdamState', state);
  }

  readFeatures(): Promise<Float32Array> {
    return this.call('engine.readFeatures', {});
  }

  releaseView(view: number): Promise<null> {
    return this.call('engine.releaseView', { view });
  }

  timings(): Promise<RasterTimings> {
    return this.call('engine.timings', {});
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.rpc.close();
    await this.worker.terminate();
  }
}

function crashed(reason: string): SagaError {
  return new SagaError('ENGINE_CRASHED', `${reason[0]!.toUpperCase()}${reason.slice(1)}. Start the work again; nothing saved was lost.`, { reason });
}
