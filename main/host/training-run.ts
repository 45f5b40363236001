/**
 * A project's feature training, wired: the prepared views from the cache, the engine, resuming
 * from the newest good checkpoint, checkpoints written atomically and the SQLite training record
 * kept in step with them. The backend's train job and `saga-studio train` both run this.
 */
import type { TrainAblation, TrainingStatus, TrainSummary } from '../contract/api.ts';
import { SagaError, toSagaError } from '../contract/errors.ts';
import type { JobControl } from '../contract/rpc.ts';
import { train, TRAIN_DEFAULTS, type TrainingEngine, type TrainOptions, type TrainProgress, type TrainState } from '../engine/train/trainer.ts';
import { loadCheckpoint, writeCheckpoint, type CheckpointMeta } from '../project/checkpoints.ts';
import type { Project } from '../project/store.ts';
import type { LossPoint } from '../project/training-record.ts';
import { trainingInputs } from './project-inputs.ts';

export interface TrainRequest {
  iterations?: number;
  seed?: number;
  ablate?: TrainAblation;
  restart?: boolean;
  /** Settings beyond the API's (benchmarks and tests): sampling sizes, budget, threads, learning rate. */
  tuning?: Partial<Pick<TrainOptions, 'lr' | 'guidancePixels' | 'corrPixels' | 'maxMasks' | 'listBudgetBytes' | 'checkpointEvery' | 'threads'>>;
}

export interface TrainContext {
  project: Project;
  engine: TrainingEngine;
  count: number;
  signal?: AbortSignal;
  control?: JobControl;
  onProgress?: (p: TrainProgress) => void;
}

/** The switches and settings recorded with a run (and checked when resuming). */
function optionsRecord(o: TrainOptions): Record<string, unknown> {
  return { dim: o.dim, lr: o.lr, lambda: o.lambda, guidance: o.guidance, correspondence: o.correspondence, guidancePixels: o.guidancePixels, corrPixels: o.corrPixels, maxMasks: o.maxMasks, threads: o.threads };
}

function ablationOf(o: { guidance?: unknown; correspondence?: unknown }): TrainAblation | undefined {
  return o.correspondence === false ? 'corr' : o.guidance === false ? 'guidance' : undefined;
}

/** The checkpoint's arrays for a state (and back): features, MLP, both optimisers, random state. */
function stateArrays(s: TrainState): Record<string, Float32Array | Uint32Array> {
  return {
    features: s.features,
    featureAdamM: s.featureAdam.m,
    featureAdamV: s.featureAdam.v,
    mlp: s.mlp,
    mlpAdamM: s.mlpAdam.m,
    mlpAdamV: s.mlpAdam.v,
    counters: Uint32Array.of(s.featureAdam.step, s.mlpAdam.step, s.random, s.window),
  };
}

function stateFrom(meta: CheckpointMeta, a: Record<string, ArrayLike<number>>): TrainState {
  const counters = a.counters as Uint32Array;
  return {
    iteration: meta.iteration,
    features: a.features as Float32Array,
    featureAdam: { m: a.featureAdamM as Float32Array, v: a.featureAdamV as Float32Array, step: counters[0]! },
    mlp: a.mlp as Float32Array,
    mlpAdam: { m: a.mlpAdamM as Float32Array, v: a.mlpAdamV as Float32Array, step: counters[1]! },
    random: counters[2]!,
    window: counters[3]!,
  };
}

/** The project's training state for the UI (without a running job: the caller adds it). */
export function trainingStatus(project: Project): Omit<TrainingStatus, 'runningJobId' | 'paused'> {
  const record = project.training.get();
  const inputs = trainingInputs(project);
  const base = { trainableViews: inputs.views.length, losses: project.training.losses() };
  if (!record) return { state: 'missing', stale: false, iteration: 0, iterations: 0, ...base };
  const ablate = ablationOf(record.options);
  const state: TrainingStatus['state'] =
    record.state === 'failed' ? 'failed' : record.iteration === 0 ? 'missing' : record.iteration >= record.iterations ? 'trained' : 'partial';
  return {
    state,
    stale: record.iteration > 0 && record.masksKey !== inputs.masksKey,
    iteration: record.iteration,
    iterations: record.iterations,
    seed: record.seed,
    ...(ablate ? { ablate } : {}),
    ...(record.error ? { error: record.error } : {}),
    ...base,
  };
}

/**
 * Trains the project's features: resumes from the newest good checkpoint unless `restart` (or the
 * run's switches changed), writes a checkpoint every few hundred iterations and when stopped, and
 * records the run in the project. Throws CANCELLED (with the iteration reached) when stopped.
 */
export async function runProjectTraining(ctx: TrainContext, request: TrainRequest): Promise<TrainSummary> {
  const { project, count } = ctx;
  const started = performance.now();
  const inputs = trainingInputs(project);
  if (inputs.views.length === 0) {
    throw new SagaError(
      'MASKS_MISSING',
      inputs.unprepared.length > 0 && inputs.withoutMasks.length === 0
        ? 'The views of this project are not prepared yet. Run Prepare first (in the Training panel, or saga-studio prepare), then train.'
        : 'No prepared view has any mask to train on. Prepare the views again, with SAM or another mask source.',
      { unprepared: inputs.unprepared.length, withoutMasks: inputs.withoutMasks.length },
    );
  }
  const record = project.training.get();
  const options: TrainOptions = {
    ...TRAIN_DEFAULTS,
    ...request.tuning,
    iterations: request.iterations ?? record?.iterations ?? TRAIN_DEFAULTS.iterations,
    seed: request.seed ?? (request.restart ? undefined : record?.seed) ?? TRAIN_DEFAULTS.seed,
    guidance: request.ablate !== 'guidance',
    correspondence: request.ablate !== 'corr',
  };
  // Resume only a run with the same loss switches and seed; anything else starts again.
  const damaged: string[] = [];
  let resume: TrainState | undefined;
  if (!request.restart) {
    const ckpt = loadCheckpoint(project.dir, { count });
    for (const s of ckpt?.skipped ?? []) damaged.push(s.reason);
    if (ckpt && ckpt.meta.dim === options.dim && ckpt.meta.seed === options.seed && ablationOf(ckpt.meta.options) === request.ablate) {
      resume = stateFrom(ckpt.meta, ckpt.arrays);
    }
  }
  const from = resume?.iteration ?? 0;
  const summary = (ran: number, iteration: number, losses?: { guidance: number; corr: number }): TrainSummary => ({
    iteration, iterations: options.iterations, ran, elapsedMs: Math.round(performance.now() - started),
    ...(losses ? { losses } : {}), views: inputs.views.length, skippedViews: inputs.withoutMasks, damagedCheckpoints: damaged,
  });
  if (resume && from >= options.iterations) return summary(0, from);

  project.training.start({ iteration: from, iterations: options.iterations, seed: options.seed, options: optionsRecord(options), masksKey: inputs.masksKey, fresh: !resume });
  let pending: LossPoint[] = [];
  let lastLosses: { guidance: number; corr: number } | undefined;
  const onProgress = (p: TrainProgress) => {
    if (p.stage === 'train' && p.losses) {
      pending.push({ iteration: p.iteration, ...p.losses });
      lastLosses = p.losses;
    }
    ctx.onProgress?.(p);
  };
  const onCheckpoint = async (s: TrainState) => {
    const meta: CheckpointMeta = {
      format: 'saga-training-checkpoint', version: 1, iteration: s.iteration, iterations: options.iterations,
      count, dim: options.dim, seed: options.seed, masksKey: inputs.masksKey, options: optionsRecord(options), createdAt: new Date().toISOString(),
    };
    await writeCheckpoint(project.dir, meta, stateArrays(s));
    // The record follows the checkpoint that is now on disk, never the other way round.
    project.training.update(ctx.control?.paused ? 'paused' : 'running', s.iteration, pending);
    pending = [];
  };
  try {
    const state = await train({
      engine: ctx.engine,
      count,
      views: inputs.views,
      options,
      ...(resume ? { resume } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      ...(ctx.control ? { control: ctx.control } : {}),
      onProgress,
      onCheckpoint,
    });
    project.training.update('done', state.iteration, pending);
    return summary(state.iteration - from, state.iteration, lastLosses);
  } catch (e) {
    const err = toSagaError(e);
    const reached = (err.details?.iteration as number | undefined) ?? project.training.get()?.iteration ?? from;
    if (err.code === 'CANCELLED') project.training.update('stopped', reached, pending);
    else project.training.update('failed', project.training.get()?.iteration ?? from, pending, err.toJSON());
    throw err;
  }
}
