/**
 * Feature training for the evaluation suite (a SceneTrainer of engine/eval/suite.ts): each suite
 * scene becomes a project beside its synth folder, its views are prepared with the oracle's masks,
 * and the features are trained once per variant (full, no correspondence, no guidance) from the
 * same seed on one shared engine.
 */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { prepareViews } from '../engine/masks/prepare.ts';
import type { SceneTrainer, TrainedFeatures, TrainVariant } from '../engine/eval/suite.ts';
import { initialFeatures, TRAIN_DEFAULTS } from '../engine/train/trainer.ts';
import { readTrainedFeatures } from '../project/checkpoints.ts';
import { resolveProjectSource } from '../project/source.ts';
import { createProject } from '../project/store.ts';
import type { TrainAblation } from '../contract/api.ts';
import { EngineClient } from './engine-client.ts';
import { prepareInputOf } from './project-inputs.ts';
import { runProjectTraining, type TrainRequest } from './training-run.ts';

/** Settings of the suite's training: the official learning rate is too slow for CI-sized runs (see README). */
export const SUITE_TUNING: TrainRequest['tuning'] = { lr: 0.025 };
const SEED = 1;

const ABLATION: Record<TrainVariant, TrainAblation | undefined> = { full: undefined, 'no-corr': 'corr', 'no-guidance': 'guidance' };

/** A SceneTrainer on `engine`; `variants` limits which are trained (default all). */
export function suiteTrainer(engine: EngineClient, variants: readonly TrainVariant[] = ['full', 'no-corr', 'no-guidance'], onProgress?: (line: string) => void): SceneTrainer {
  return async (scene, synthDir, signal) => {
    const resolved = await resolveProjectSource(synthDir, {});
    // One project per variant (kept with --keep, each with its checkpoint), prepared once.
    const projectDir = (variant: TrainVariant) => join(synthDir, '..', `${scene.name}-${variant}`);
    let prepared: string | undefined;
    const trained: TrainedFeatures[] = [];
    await engine.loadScene(resolved.scene);
    for (const variant of variants) {
      const project = createProject(projectDir(variant), { source: resolved.source });
      try {
        if (prepared) cpSync(join(prepared, 'cache'), project.cacheDir, { recursive: true });
        else {
          await prepareViews(prepareInputOf(project), { masks: { kind: 'imported', folder: join(synthDir, 'masks') }, ...(signal ? { signal } : {}) });
          prepared = project.dir;
        }
        const t = performance.now();
        const ablate = ABLATION[variant];
        await runProjectTraining(
          { project, engine, count: resolved.scene.count, ...(signal ? { signal } : {}) },
          { iterations: scene.iterations, seed: SEED, ...(ablate ? { ablate } : {}), tuning: SUITE_TUNING },
        );
        const features = readTrainedFeatures(project.dir, resolved.scene.count)!;
        const seconds = (performance.now() - t) / 1000;
        trained.push({ variant, features: features.features, dim: features.dim, seconds });
        onProgress?.(`${scene.name}: trained ${variant} (${scene.iterations} iterations) in ${seconds.toFixed(1)} s`);
      } finally {
        project.close();
      }
    }
    return { untrained: initialFeatures(resolved.scene.count, TRAIN_DEFAULTS.dim, SEED), dim: TRAIN_DEFAULTS.dim, variants: trained };
  };
}
