/**
 * Training checkpoints in a project folder: `<project>/training/checkpoint-<iteration>.bin`, tensor
 * files (common/tensor-file.ts) holding the trained per-Gaussian features, the SAM projection MLP,
 * both optimisers' moments and the random state, so a run resumes exactly where it stopped. The
 * newest checkpoint that reads back whole is the project's trained features; a damaged one is
 * reported and skipped, never used. Trained features never go into the source scene.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openTensorFile, writeTensorFile, type TensorArray } from '../common/tensor-file.ts';
import { SagaError, isSagaError } from '../contract/errors.ts';

export const TRAINING_DIR = 'training';
const CHECKPOINT = /^checkpoint-(\d+)\.bin$/;
/** Checkpoints kept on disk: the newest and the one before it (the fallback if the newest is damaged). */
export const CHECKPOINTS_KEPT = 2;

/** What a checkpoint says about the run that wrote it. */
export interface CheckpointMeta {
  format: 'saga-training-checkpoint';
  version: 1;
  /** Iterations done when it was written, and the run's target. */
  iteration: number;
  iterations: number;
  /** Gaussians and feature channels. */
  count: number;
  dim: number;
  seed: number;
  /** Identifies the prepared masks the run trained on (see the train job); a change makes the features stale. */
  masksKey: string;
  /** Loss switches and settings of the run, as the trainer records them. */
  options: Record<string, unknown>;
  createdAt: string;
}

export function trainingDir(projectDir: string): string {
  return join(projectDir, TRAINING_DIR);
}

export function checkpointPath(projectDir: string, iteration: number): string {
  return join(trainingDir(projectDir), `checkpoint-${String(iteration).padStart(7, '0')}.bin`);
}

/** Checkpoint files of a project, newest (highest iteration) first. */
export function listCheckpoints(projectDir: string): { path: string; iteration: number }[] {
  const dir = trainingDir(projectDir);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((f) => ({ f, m: CHECKPOINT.exec(f) }))
    .filter((x): x is { f: string; m: RegExpExecArray } => x.m !== null)
    .map(({ f, m }) => ({ path: join(dir, f), iteration: Number(m[1]) }))
    .sort((a, b) => b.iteration - a.iteration);
}

/** Writes a checkpoint atomically, then removes all but the newest CHECKPOINTS_KEPT. */
export async function writeCheckpoint(projectDir: string, meta: CheckpointMeta, arrays: Record<string, TensorArray>): Promise<string> {
  if (arrays.features?.length !== meta.count * meta.dim) {
    throw new SagaError('INTERNAL', `A checkpoint needs ${meta.count} x ${meta.dim} feature values.`);
  }
  mkdirSync(trainingDir(projectDir), { recursive: true });
  const path = checkpointPath(projectDir, meta.iteration);
  await writeTensorFile(path, meta, arrays);
  for (const old of listCheckpoints(projectDir).slice(CHECKPOINTS_KEPT)) rmSync(old.path, { force: true });
  return path;
}

function isCheckpointMeta(m: unknown): m is CheckpointMeta {
  const x = m as CheckpointMeta | null;
  return !!x && x.format === 'saga-training-checkpoint' && x.version === 1 && Number.isInteger(x.iteration) && Number.isInteger(x.count) && Number.isInteger(x.dim) && x.dim > 0;
}

export interface LoadedCheckpoint {
  path: string;
  meta: CheckpointMeta;
  /** The arrays asked for, each checked against its checksum. */
  arrays: Record<string, TensorArray>;
  /** Newer checkpoints that were damaged and skipped, with why (for the job to report). */
  skipped: { path: string; reason: string }[];
}

/**
 * The newest checkpoint that reads back whole, with the named arrays (all of them when `names` is
 * omitted). Damaged ones are skipped and listed. Undefined when the project has none that is good.
 * `count` refuses checkpoints of another scene size (a project's scene cannot change, but a copied
 * training folder could).
 */
export function loadCheckpoint(projectDir: string, options: { names?: string[]; count?: number } = {}): LoadedCheckpoint | undefined {
  const skipped: { path: string; reason: string }[] = [];
  for (const { path } of listCheckpoints(projectDir)) {
    try {
      const file = openTensorFile(path);
      try {
        if (!isCheckpointMeta(file.meta)) throw new SagaError('PROJECT_CORRUPT', `${path} is not a training checkpoint.`);
        if (options.count !== undefined && file.meta.count !== options.count) {
          throw new SagaError('PROJECT_CORRUPT', `${path} holds features for ${file.meta.count} Gaussians, but the scene has ${options.count}.`);
        }
        const arrays: Record<string, TensorArray> = {};
        for (const name of options.names ?? file.arrays.map((a) => a.name)) {
          const a = file.read(name);
          if (!a) throw new SagaError('PROJECT_CORRUPT', `${path} has no '${name}'.`);
          arrays[name] = a;
        }
        return { path, meta: file.meta, arrays, skipped };
      } finally {
        file.close();
      }
    } catch (e) {
      if (!isSagaError(e, 'PROJECT_CORRUPT') && !isSagaError(e, 'FILE_NOT_FOUND')) throw e;
      skipped.push({ path, reason: e.message });
    }
  }
  return undefined;
}

export interface TrainedFeatures {
  /** count x dim, row-major, float32. */
  features: Float32Array;
  count: number;
  dim: number;
  /** Iterations trained, and the run's target. */
  iteration: number;
  iterations: number;
  masksKey: string;
  checkpoint: string;
}

/** The project's trained per-Gaussian features (the newest good checkpoint), or undefined when it has none. */
export function readTrainedFeatures(projectDir: string, count?: number): TrainedFeatures | undefined {
  const c = loadCheckpoint(projectDir, { names: ['features'], ...(count !== undefined ? { count } : {}) });
  if (!c) return undefined;
  return {
    features: c.arrays.features as Float32Array,
    count: c.meta.count,
    dim: c.meta.dim,
    iteration: c.meta.iteration,
    iterations: c.meta.iterations,
    masksKey: c.meta.masksKey,
    checkpoint: c.path,
  };
}
