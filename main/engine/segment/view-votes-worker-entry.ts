/** Worker-thread side of buildViewVotesInWorker (view-votes-worker.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { toSagaError } from '../../contract/errors.ts';
import type { GaussianScene } from '../../scene/gaussians.ts';
import { buildViewVotes } from './view-check.ts';
import type { VoteWorkerInput, VoteWorkerMessage } from './view-votes-worker.ts';

const port = parentPort!;
const { scene, views, options } = workerData as VoteWorkerInput;
const send = (m: VoteWorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
try {
  // The recording reads only the geometry (count, centres, scales, rotations, opacities).
  const votes = buildViewVotes(scene as GaussianScene, views, options);
  const transfer = votes.views.flatMap((v) => [v.offsets.buffer, v.gaussians.buffer, v.weights.buffer, v.totals.buffer, v.boxes.buffer, ...v.masks.map((m) => m.buffer)]) as ArrayBuffer[];
  send({ kind: 'result', votes: { ...votes, positions: new Float32Array(0) } }, transfer);
} catch (e) {
  send({ kind: 'error', error: toSagaError(e).toJSON() });
}
