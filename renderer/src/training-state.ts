/**
 * What the Training panel shows about feature training, as plain data changed by pure functions:
 * the project's training status, the training job this window follows, the loss history for the
 * plot, and how the last followed run ended. feature-training.svelte.ts holds one of these and
 * talks to the backend; everything that decides what the panel says is here, so it is unit-tested.
 */
import type { JobEvent, TrainingStatus, TrainJobProgress, TrainSummary } from '../../main/contract/api.ts';
import type { SagaErrorData } from '../../main/contract/errors.ts';
import { etaText } from './training.ts';

/** The default target of a first run: the v2 reference scripts' 10k steps (DESIGN.md). */
export const DEFAULT_ITERATIONS = 10_000;

/** Loss history in the column layout uPlot draws (x values first), iterations ascending. */
export interface LossSeries {
  iteration: number[];
  guidance: number[];
  corr: number[];
}

/** A training job this window follows: started here, or found running when the project opened. */
export interface TrainingJob {
  id: string;
  /** The last progress event (null until the first arrives). */
  progress: TrainJobProgress | null;
  paused: boolean;
}

/** How the last run this window followed ended, until the next run or project. */
export type TrainingEnd =
  | { kind: 'done'; summary: TrainSummary }
  | { kind: 'cancelled' | 'failed'; error: SagaErrorData };

export interface TrainingView {
  /** The open project's training status (null before the first answer). */
  status: TrainingStatus | null;
  job: TrainingJob | null;
  losses: LossSeries;
  ended: TrainingEnd | null;
}

export const NO_TRAINING: TrainingView = { status: null, job: null, losses: emptyLosses(), ended: null };

export function emptyLosses(): LossSeries {
  return { iteration: [], guidance: [], corr: [] };
}

/**
 * The series with `point` added at its iteration. A point at or before the last one means the run
 * started again from there (a restart, or a resume from an older checkpoint): the points from that
 * iteration on are dropped first, so the plot never runs backwards.
 */
export function appendLoss(series: LossSeries, point: { iteration: number; guidance: number; corr: number }): LossSeries {
  let keep = series.iteration.length;
  while (keep > 0 && series.iteration[keep - 1]! >= point.iteration) keep--;
  return {
    iteration: [...series.iteration.slice(0, keep), point.iteration],
    guidance: [...series.guidance.slice(0, keep), point.guidance],
    corr: [...series.corr.slice(0, keep), point.corr],
  };
}

/**
 * A status answer from the backend. Its loss history replaces the plot's, except for points this
 * window received from a running job after the history's last one (the history is written at each
 * checkpoint, events arrive every 100 ms). A job running on the host that this window does not
 * follow yet is attached.
 */
export function withStatus(view: TrainingView, status: TrainingStatus): TrainingView {
  let losses: LossSeries = { iteration: [], guidance: [], corr: [] };
  for (const p of status.losses) losses = pushLoss(losses, p);
  const job = view.job ?? (status.runningJobId ? { id: status.runningJobId, progress: null, paused: status.paused ?? false } : null);
  if (job && view.job) {
    const last = losses.iteration.at(-1) ?? -1;
    view.losses.iteration.forEach((iteration, k) => {
      if (iteration > last) losses = pushLoss(losses, { iteration, guidance: view.losses.guidance[k]!, corr: view.losses.corr[k]! });
    });
  }
  return { ...view, status, job, losses };
}

/** Appends in place to a series this module has just made (no copy per point while building one). */
function pushLoss(series: LossSeries, p: { iteration: number; guidance: number; corr: number }): LossSeries {
  if (series.iteration.length > 0 && series.iteration.at(-1)! >= p.iteration) return appendLoss(series, p);
  series.iteration.push(p.iteration);
  series.guidance.push(p.guidance);
  series.corr.push(p.corr);
  return series;
}

/** The backend accepted 'project.train': follow the job (no event has arrived yet). */
export function withStartedJob(view: TrainingView, jobId: string): TrainingView {
  return { ...view, job: { id: jobId, progress: null, paused: false }, ended: null };
}

/**
 * A job event. Returns the new view, and `finished` when the followed job ended (the caller then
 * asks for the status again); null when the event belongs to another job.
 */
export function withJobEvent(view: TrainingView, event: JobEvent): { view: TrainingView; finished: boolean } | null {
  const job = view.job;
  if (!job || event.jobId !== job.id) return null;
  if (event.kind === 'progress') {
    const progress = event.progress as TrainJobProgress;
    const losses = progress.stage === 'train' && progress.losses && progress.iteration !== undefined
      ? appendLoss(view.losses, { iteration: progress.iteration, ...progress.losses })
      : view.losses;
    return { view: { ...view, losses, job: { ...job, progress, paused: progress.paused ?? job.paused } }, finished: false };
  }
  const ended: TrainingEnd = event.kind === 'result'
    ? { kind: 'done', summary: event.result as TrainSummary }
    : { kind: event.error.code === 'CANCELLED' ? 'cancelled' : 'failed', error: event.error };
  return { view: { ...view, job: null, ended }, finished: true };
}

/** The connection to the backend was lost: no event of the job can arrive, so stop following it. */
export function withoutConnection(view: TrainingView): TrainingView {
  return { ...view, job: null };
}

export type TrainingPhaseKind = 'unknown' | 'missing' | 'training' | 'paused' | 'partial' | 'trained' | 'stale' | 'failed';

/** The one line that says where training stands, and its kind (for styling and tests). */
export interface TrainingPhase {
  kind: TrainingPhaseKind;
  text: string;
}

const count = (n: number) => n.toLocaleString('en-US');

/**
 * Where training stands: a followed job first (training or paused), then a failed last run, then
 * features trained on views that were prepared again since (stale), then how far they are trained.
 */
export function trainingPhase(view: TrainingView): TrainingPhase {
  const { status, job } = view;
  if (job) {
    const p = job.progress;
    const at = p?.iteration ?? status?.iteration ?? 0;
    const of = p?.total ?? status?.iterations ?? 0;
    const where = of > 0 ? ` at iteration ${count(at)} of ${count(of)}` : '';
    return job.paused
      ? { kind: 'paused', text: `Paused${where}. Resume goes on from there.` }
      : { kind: 'training', text: `Training${where}…` };
  }
  if (!status) return { kind: 'unknown', text: 'Checking how far the features are trained…' };
  if (status.state === 'failed') {
    return { kind: 'failed', text: `Training failed${status.error ? `: ${status.error.message}` : '.'} Train again to retry${status.iteration > 0 ? ` from iteration ${count(status.iteration)}` : ''}.` };
  }
  if (status.stale) {
    return { kind: 'stale', text: `Stale: the views were prepared again after these features were trained (${count(status.iteration)} iterations): train again.` };
  }
  switch (status.state) {
    case 'missing':
      return { kind: 'missing', text: status.trainableViews > 0 ? 'Not trained yet.' : 'Not trained yet. Prepare the views first, then train.' };
    case 'partial':
      return { kind: 'partial', text: `Partly trained: ${count(status.iteration)} of ${count(status.iterations)} iterations. Train resumes at ${count(status.iteration)}.` };
    case 'trained':
      return { kind: 'trained', text: `Trained: ${count(status.iteration)} iterations.` };
  }
}

/**
 * The progress bar's line: "Iteration 1,200 of 10,000 · 31.4 it/s · about 4 min 42 s left", or the
 * view whose blend lists are being made before it can be trained on.
 */
export function trainProgressText(progress: TrainJobProgress | null): string {
  if (!progress) return 'Starting…';
  if (progress.stage === 'prepare-view') return progress.view ? `Getting view ${progress.view} ready for training…` : 'Getting a view ready for training…';
  if (progress.stage !== 'train') return `Starting (${progress.stage})…`;
  const parts = [`Iteration ${count(progress.iteration ?? progress.done)} of ${count(progress.total)}`];
  if (progress.iterationsPerSecond !== undefined) parts.push(`${progress.iterationsPerSecond.toFixed(1)} it/s`);
  const eta = etaText(progress.etaSeconds);
  if (eta && !progress.paused) parts.push(eta);
  return parts.join(' · ');
}

/** The iterations field's first value: the last run's target, or the default for a first run. */
export function defaultIterations(status: TrainingStatus | null): number {
  return status && status.iterations > 0 ? status.iterations : DEFAULT_ITERATIONS;
}

/** "Trained 400 iterations in 12.3 s." / what a cancel or a failure means here. */
export function trainingEndText(ended: TrainingEnd): string {
  if (ended.kind === 'done') {
    const s = ended.summary;
    if (s.ran === 0) return `Already trained to iteration ${count(s.iteration)}: raise the iterations to train further.`;
    return `Trained ${count(s.ran)} iteration${s.ran === 1 ? '' : 's'} in ${(s.elapsedMs / 1000).toFixed(1)} s (now at ${count(s.iteration)}).`;
  }
  // The host's CANCELLED message says where it stopped and that it resumes there.
  if (ended.kind === 'cancelled') return `Cancelled. ${ended.error.message}`;
  return `Failed. ${ended.error.message}`;
}
