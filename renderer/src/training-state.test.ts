import { describe, expect, it } from 'vitest';
import type { JobEvent, TrainingStatus, TrainJobProgress } from '../../main/contract/api.ts';
import {
  DEFAULT_ITERATIONS,
  NO_TRAINING,
  appendLoss,
  defaultIterations,
  emptyLosses,
  trainingEndText,
  trainingPhase,
  trainProgressText,
  withJobEvent,
  withoutConnection,
  withStartedJob,
  withStatus,
  type TrainingView,
} from './training-state.ts';

const status = (s: Partial<TrainingStatus> = {}): TrainingStatus => ({ state: 'missing', stale: false, iteration: 0, iterations: 0, trainableViews: 4, losses: [], ...s });
const progress = (p: Partial<TrainJobProgress> = {}): JobEvent => ({ jobId: 'train-1', kind: 'progress', progress: { stage: 'train', done: 10, total: 400, iteration: 10, ...p } });
const loss = (iteration: number, guidance = 0.5, corr = 0.1) => ({ iteration, guidance, corr });

/** Applies events of the followed job one after the other. */
function after(view: TrainingView, ...events: JobEvent[]): TrainingView {
  return events.reduce((v, e) => withJobEvent(v, e)!.view, view);
}

describe('loss history', () => {
  it('appends in iteration order, and a run that starts again earlier drops what came after', () => {
    let s = emptyLosses();
    s = appendLoss(s, loss(10, 0.7, 0.2));
    s = appendLoss(s, loss(20, 0.6, 0.1));
    s = appendLoss(s, loss(30, 0.5, 0.0));
    expect(s).toEqual({ iteration: [10, 20, 30], guidance: [0.7, 0.6, 0.5], corr: [0.2, 0.1, 0.0] });
    // A restart from scratch (or a resume from an older checkpoint) at iteration 20.
    s = appendLoss(s, loss(20, 0.9, 0.3));
    expect(s).toEqual({ iteration: [10, 20], guidance: [0.7, 0.9], corr: [0.2, 0.3] });
    s = appendLoss(s, loss(5));
    expect(s.iteration).toEqual([5]);
  });

  it('keeps the points a running job sent after the last checkpointed one when the status is asked again', () => {
    let v = withStartedJob(withStatus(NO_TRAINING, status({ losses: [loss(100), loss(200)] })), 'train-1');
    v = after(v, progress({ iteration: 250, losses: { guidance: 0.4, corr: 0.05 } }), progress({ iteration: 260, losses: { guidance: 0.39, corr: 0.04 } }));
    expect(v.losses.iteration).toEqual([100, 200, 250, 260]);
    // The checkpoint at 250 put 250 into the record: the history now reaches it, the window adds 260.
    v = withStatus(v, status({ state: 'partial', iteration: 250, iterations: 400, losses: [loss(100), loss(200), loss(250, 0.41)], runningJobId: 'train-1' }));
    expect(v.losses.iteration).toEqual([100, 200, 250, 260]);
    expect(v.losses.guidance[2]).toBe(0.41);
  });
});

describe('following a training job', () => {
  it('attaches to a job found running on open, paused or not', () => {
    const v = withStatus(NO_TRAINING, status({ state: 'partial', iteration: 300, iterations: 1000, runningJobId: 'train-7', paused: true }));
    expect(v.job).toEqual({ id: 'train-7', progress: null, paused: true });
    expect(trainingPhase(v)).toEqual({ kind: 'paused', text: 'Paused at iteration 300 of 1,000. Resume goes on from there.' });
  });

  it('takes progress with its losses and the pause flag, and ignores other jobs', () => {
    let v = withStartedJob(withStatus(NO_TRAINING, status()), 'train-1');
    expect(trainingPhase(v).kind).toBe('training');
    expect(withJobEvent(v, { ...progress(), jobId: 'prepare-3' })).toBeNull();
    v = after(v, progress({ stage: 'prepare-view', view: 'view_002' }));
    expect(v.losses.iteration).toEqual([]);
    expect(trainProgressText(v.job!.progress)).toBe('Getting view view_002 ready for training…');
    v = after(v, progress({ iteration: 40, done: 40, losses: { guidance: 0.6, corr: 0.2 }, iterationsPerSecond: 31.44, etaSeconds: 11.5 }));
    expect(v.losses.iteration).toEqual([40]);
    expect(trainingPhase(v)).toEqual({ kind: 'training', text: 'Training at iteration 40 of 400…' });
    expect(trainProgressText(v.job!.progress)).toBe('Iteration 40 of 400 · 31.4 it/s · about 12 s left');
    v = after(v, progress({ iteration: 40, done: 40, paused: true }));
    expect(v.job!.paused).toBe(true);
    expect(trainingPhase(v).kind).toBe('paused');
    // No time left is promised while it stands still.
    expect(trainProgressText({ ...v.job!.progress!, etaSeconds: 11 })).toBe('Iteration 40 of 400');
    v = after(v, progress({ iteration: 41, done: 41, paused: false }));
    expect(v.job!.paused).toBe(false);
    // Events without the flag keep the last known state.
    v = after(v, progress({ iteration: 50, done: 50 }));
    expect(v.job!.paused).toBe(false);
  });

  it('ends with the summary, a cancel that says where it resumes, or a failure', () => {
    const running = withStartedJob(withStatus(NO_TRAINING, status()), 'train-1');
    const done = withJobEvent(running, { jobId: 'train-1', kind: 'result', result: { iteration: 400, iterations: 400, ran: 400, elapsedMs: 12_345, views: 4, skippedViews: [], damagedCheckpoints: [] } })!;
    expect(done.finished).toBe(true);
    expect(done.view.job).toBeNull();
    expect(trainingEndText(done.view.ended!)).toBe('Trained 400 iterations in 12.3 s (now at 400).');

    const cancelled = withJobEvent(running, { jobId: 'train-1', kind: 'error', error: { code: 'CANCELLED', message: 'Training was stopped at iteration 120; it resumes from there when you train again.' } })!;
    expect(cancelled.view.ended).toMatchObject({ kind: 'cancelled' });
    expect(trainingEndText(cancelled.view.ended!)).toBe('Cancelled. Training was stopped at iteration 120; it resumes from there when you train again.');

    const failed = withJobEvent(running, { jobId: 'train-1', kind: 'error', error: { code: 'GPU_ERROR', message: 'The GPU went away.' } })!;
    expect(trainingEndText(failed.view.ended!)).toBe('Failed. The GPU went away.');
    // A new run forgets how the last one ended.
    expect(withStartedJob(failed.view, 'train-2').ended).toBeNull();
  });

  it('stops following the job when the connection is lost, so the buttons work again', () => {
    const v = withoutConnection(withStartedJob(withStatus(NO_TRAINING, status()), 'train-1'));
    expect(v.job).toBeNull();
    expect(trainingPhase(v).kind).toBe('missing');
  });
});

describe('the state line', () => {
  const phase = (s: Partial<TrainingStatus>) => trainingPhase(withStatus(NO_TRAINING, status(s)));

  it('says missing, partial with where it resumes, trained, stale and failed', () => {
    expect(trainingPhase(NO_TRAINING).kind).toBe('unknown');
    expect(phase({})).toEqual({ kind: 'missing', text: 'Not trained yet.' });
    expect(phase({ trainableViews: 0 }).text).toMatch(/Prepare the views first/);
    expect(phase({ state: 'partial', iteration: 1200, iterations: 10_000 })).toEqual({ kind: 'partial', text: 'Partly trained: 1,200 of 10,000 iterations. Train resumes at 1,200.' });
    expect(phase({ state: 'trained', iteration: 10_000, iterations: 10_000 })).toEqual({ kind: 'trained', text: 'Trained: 10,000 iterations.' });
    expect(phase({ state: 'trained', stale: true, iteration: 400, iterations: 400 })).toEqual({ kind: 'stale', text: 'Stale: the views were prepared again after these features were trained (400 iterations): train again.' });
    const failed = phase({ state: 'failed', iteration: 300, iterations: 400, error: { code: 'NON_FINITE_VALUES', message: 'The loss became NaN at view_001, iteration 301.' } });
    expect(failed).toEqual({ kind: 'failed', text: 'Training failed: The loss became NaN at view_001, iteration 301. Train again to retry from iteration 300.' });
  });

  it('starts the iterations field at the last run target, else the default', () => {
    expect(defaultIterations(null)).toBe(DEFAULT_ITERATIONS);
    expect(defaultIterations(status())).toBe(10_000);
    expect(defaultIterations(status({ state: 'partial', iteration: 10, iterations: 400 }))).toBe(400);
  });
});
