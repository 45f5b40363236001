/**
 * EngineClient: the Node-side handle on the GPU engine. The Dawn device lives in a worker thread
 * (engine-worker.ts) that answers the contract's RPC (EngineMethods in main/engine/protocol.ts) over
 * a MessagePort, so the calling thread may block (reference renders, file IO, loss math) without
 * endangering the device. Typed arrays travel as binary attachments, transferred, not copied.
 */
import { MessageChannel } from 'node:worker_threads';
import { startWorker } from '../common/start-worker.ts';
import { SagaError, isSagaError } from '../contract/errors.ts';
import { RpcClient } from '../contract/rpc.ts';
import { messagePortTransport } from '../contract/transports/message-port.ts';
import type { Transport } from '../contract/transport.ts';
import type { EngineInfo, EngineInitOptions, EngineMethods, ViewOptions } from '../engine/protocol.ts';
import type { RenderOptions, RenderOutput } from '../engine/raster/reference.ts';
import type { RasterTimings } from '../engine/raster/rasterizer.ts';
import type { Camera } from '../scene/camera.ts';
import type { GaussianScene } from '../scene/gaussians.ts';

export type { ViewOptions };
export type EngineStartOptions = EngineInitOptions;

export class EngineClient {
  private readonly rpc: RpcClient<EngineMethods>;
  /** Set when the engine died: every call then fails with ENGINE_CRASHED and this reason. */
  private crash: string | undefined;
  private closed = false;
  private readonly crashListeners = new Set<(reason: string) => void>();
  adapter = '';
  /** Where this engine sorts tile entries. */
  sort: 'gpu' | 'cpu' = 'gpu';
  /** Where the cached training step runs. */
  training: 'gpu' | 'wasm' = 'gpu';

  private constructor(
    private readonly transport: Transport,
    /** Ends the engine's host (the worker, or the engine window's page): close() and kill(). */
    private readonly stop: () => Promise<unknown>,
    /** Treat the link closing as the crash (hosts without an exit event of their own). */
    watchLink: boolean,
  ) {
    this.rpc = new RpcClient<EngineMethods>(transport, {
      onProtocolError: (m) => console.error(`engine link: ${m}`),
    });
    if (watchLink) {
      transport.onClose((reason) => {
        if (!this.closed) this.fail(`the GPU engine stopped unexpectedly (${reason})`);
      });
    }
  }

  /** True once the engine died: this client is unusable and a new engine must be started. */
  get crashed(): boolean {
    return this.crash !== undefined;
  }

  /** Called once when the engine dies (not when closed); returns the unsubscribe function. */
  onCrash(listener: (reason: string) => void): () => void {
    this.crashListeners.add(listener);
    return () => this.crashListeners.delete(listener);
  }

  /**
   * Ends the engine the way a crash would (pending and later calls fail with ENGINE_CRASHED, crash
   * listeners run): for a stuck engine, and for tests of crash recovery.
   */
  async kill(): Promise<void> {
    await this.stop();
  }

  private fail(reason: string): void {
    if (this.crash !== undefined) return;
    this.crash = reason;
    this.transport.close();
    for (const l of [...this.crashListeners]) l(reason);
  }

  /** Starts the engine worker (Dawn) and its GPU device. */
  static async start(options: EngineStartOptions = {}): Promise<EngineClient> {
    const { port1, port2 } = new MessageChannel();
    const worker = startWorker(new URL('./engine-worker.ts', import.meta.url), { workerData: { port: port2 }, transferList: [port2] });
    // The worker's own events say why it ended (its exit code), so they are the crash signal.
    const client = new EngineClient(messagePortTransport(port1, { transferBytes: true }), () => worker.terminate(), false);
    worker.on('error', (e) => client.fail(`the GPU engine crashed: ${e.message}`));
    worker.on('exit', (code) => {
      if (!client.closed) client.fail(`the GPU engine stopped unexpectedly (exit code ${code})`);
    });
    return client.init(options);
  }

  /**
   * An engine served elsewhere (serve-engine.ts on another transport: the Electron engine window
   * on Chromium's WebGPU), initialised with `options`. `stop` ends that host.
   */
  static connect(transport: Transport, stop: () => Promise<unknown>, options: EngineStartOptions = {}): Promise<EngineClient> {
    return new EngineClient(transport, stop, true).init(options);
  }

  private async init(options: EngineStartOptions): Promise<EngineClient> {
    try {
      const info: EngineInfo = await this.call('engine.init', options);
      this.adapter = info.adapter;
      this.sort = info.sort;
      this.training = info.training;
    } catch (e) {
      await this.close();
      throw e;
    }
    return this;
  }

  /** One engine request; fails with ENGINE_CRASHED once the engine has died. */
  async call<M extends keyof EngineMethods>(method: M, params: EngineMethods[M]['params']): Promise<EngineMethods[M]['result']> {
    if (this.crash) throw crashed(this.crash);
    if (this.closed) throw new SagaError('CANCELLED', 'The GPU engine was closed.');
    try {
      return await this.rpc.call(method, params);
    } catch (e) {
      if (this.closed && isSagaError(e, 'DISCONNECTED')) throw new SagaError('CANCELLED', 'The GPU engine was closed.');
      // The worker's end of the port can close before its 'exit' event arrives: a lost link to an
      // engine nobody closed is the crash, whichever is noticed first.
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
    await this.stop();
  }
}

function crashed(reason: string): SagaError {
  return new SagaError('ENGINE_CRASHED', `${reason[0]!.toUpperCase()}${reason.slice(1)}. Start the work again; nothing saved was lost.`, { reason });
}
