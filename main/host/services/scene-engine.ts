/**
 * The backend's GPU engine, started on first use and holding one scene at a time. Work takes a
 * lease for a scene: the engine loads that scene if needed, and a lease for another scene waits
 * until every lease on the current one is released (a training run holds its lease for the whole
 * run, a segmentation for one request). An engine that crashed is replaced by a new one at once
 * (the scene is loaded again at the next lease), and `onRestarted` says so; work that held the old
 * one ends with ENGINE_CRASHED.
 */
import { SagaError } from '../../contract/errors.ts';
import type { GaussianScene } from '../../scene/gaussians.ts';
import { EngineClient, type EngineStartOptions } from '../engine-client.ts';

export interface EngineLease {
  engine: EngineClient;
  release(): void;
}

export class SceneEngine {
  private client: Promise<EngineClient> | undefined;
  private loaded: GaussianScene | undefined;
  private leases = 0;
  private idle: (() => void)[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  private closed = false;

  constructor(
    private readonly options: EngineStartOptions = {},
    /** Called after a crashed engine was replaced (`error` set if the new one failed to start). */
    private readonly onRestarted?: (reason: string, error?: Error) => void,
  ) {}

  /** The engine started or starting, if any (tests end it to check crash recovery). */
  get current(): Promise<EngineClient> | undefined {
    return this.client;
  }

  /** An engine with `scene` loaded, held until release() (call it in a finally). */
  lease(scene: GaussianScene): Promise<EngineLease> {
    const next = this.queue.then(async () => {
      if (this.loaded !== scene) {
        while (this.leases > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
      }
      const engine = await this.engine();
      if (this.loaded !== scene) {
        this.loaded = undefined;
        await engine.loadScene(scene);
        this.loaded = scene;
      }
      this.leases++;
      let released = false;
      return {
        engine,
        release: () => {
          if (released) return;
          released = true;
          this.leases--;
          if (this.leases === 0) for (const w of this.idle.splice(0)) w();
        },
      };
    });
    this.queue = next.catch((e: unknown) => {
      // The caller gets the error; the queue only moves on.
      void e;
    });
    return next;
  }

  /** The running engine, a new one if there was none or the last one crashed. */
  private async engine(): Promise<EngineClient> {
    if (this.client) {
      const current = await this.client.catch(() => undefined);
      if (current && !current.crashed) return current;
      this.loaded = undefined;
    }
    return this.start();
  }

  private start(): Promise<EngineClient> {
    const started = EngineClient.start(this.options);
    this.client = started;
    started.then((engine) => engine.onCrash((reason) => this.restart(started, reason)), () => undefined);
    return started;
  }

  /** A new engine in place of the one that crashed, unless closed or already replaced. */
  private restart(crashed: Promise<EngineClient>, reason: string): void {
    if (this.closed || this.client !== crashed) return;
    this.loaded = undefined;
    this.start().then(
      () => this.onRestarted?.(reason),
      (e: unknown) => this.onRestarted?.(reason, e instanceof Error ? e : new Error(String(e))),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    const current = await this.client?.catch(() => undefined);
    this.client = undefined;
    this.loaded = undefined;
    await current?.close();
  }
}

/** The error for work that needs a scene when none is open. */
export function noScene(): SagaError {
  return new SagaError('NO_PROJECT', 'No scene is open. Open a project first.');
}
