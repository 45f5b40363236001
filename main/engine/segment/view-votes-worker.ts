/**
 * buildViewVotes in a worker thread, with the same result: recording a view takes about 3 s at 1M
 * Gaussians, which a host that serves the UI or drives a Dawn device must not spend on its own
 * thread. The scene's geometry and the views' masks are copied to the worker; the recordings come
 * back transferred, not copied.
 */
import { startWorker } from '../../common/start-worker.ts';
import { SagaError, type SagaErrorData } from '../../contract/errors.ts';
import type { GaussianScene } from '../../scene/gaussians.ts';
import type { CheckView, ViewVoteOptions, ViewVotes } from './view-check.ts';

/** What the recording reads of a scene (raster/reference.ts projectGaussian). */
export type VoteGeometry = Pick<GaussianScene, 'count' | 'positions' | 'scales' | 'rotations' | 'opacities'>;

export interface VoteWorkerInput {
  scene: VoteGeometry;
  views: CheckView[];
  options: Partial<ViewVoteOptions>;
}

export type VoteWorkerMessage = { kind: 'result'; votes: ViewVotes } | { kind: 'error'; error: SagaErrorData };

export function buildViewVotesInWorker(scene: GaussianScene, views: readonly CheckView[], options: Partial<ViewVoteOptions> = {}): Promise<ViewVotes> {
  const { count, positions, scales, rotations, opacities } = scene;
  const input: VoteWorkerInput = { scene: { count, positions, scales, rotations, opacities }, views: [...views], options };
  return new Promise((resolvePromise, reject) => {
    const worker = startWorker(new URL('./view-votes-worker-entry.ts', import.meta.url), { workerData: input });
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
      void worker.terminate();
    };
    worker.on('message', (m: VoteWorkerMessage) => {
      // The worker's copy of the centres came back with the votes; the scene's own are the same.
      if (m.kind === 'result') finish(() => resolvePromise({ ...m.votes, positions }));
      else finish(() => reject(SagaError.fromJSON(m.error)));
    });
    worker.on('error', (e) => finish(() => reject(new SagaError('ENGINE_CRASHED', `Recording the views for the multi-view check failed (${e.message}); segmentation goes on without the check.`, undefined, { cause: e }))));
    worker.on('exit', (code) => finish(() => reject(new SagaError('ENGINE_CRASHED', `The worker recording the views for the multi-view check stopped (exit code ${code}); segmentation goes on without the check.`))));
  });
}
