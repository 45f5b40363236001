/**
 * The Features display mode's colours: each Gaussian's trained feature projected on the first three
 * principal axes of all features, as 8-bit RGB in PLY row order (api.ts FeatureColors). Reading a
 * checkpoint and the PCA cost about a second at 1M Gaussians, so the colours of the newest
 * checkpoint are kept until training writes a newer one: toggling the mode again is free.
 */
import { statSync } from 'node:fs';
import type { FeatureColors } from '../contract/api.ts';
import { SagaError } from '../contract/errors.ts';
import { featuresToPcaColors, toRgb8 } from '../engine/raster/images.ts';
import { listCheckpoints, readTrainedFeatures } from '../project/checkpoints.ts';

/** RGB bytes (count x 3) of `count` features of `dim` channels by their first three principal axes. */
export function pcaColors(features: Float32Array, count: number, dim: number): Uint8Array {
  return toRgb8(featuresToPcaColors(features, count, dim));
}

export class FeatureColorCache {
  private cached: { key: string; value: FeatureColors } | undefined;

  /**
   * The colours of the project's newest good checkpoint. `count` is the scene's Gaussian count: a
   * checkpoint for another count is never used (loadCheckpoint skips it as damaged).
   */
  colors(projectDir: string, count: number): FeatureColors {
    const newest = listCheckpoints(projectDir)[0];
    const key = newest ? `${newest.path}:${fileStamp(newest.path)}:${count}` : '';
    if (this.cached && this.cached.key === key) return this.cached.value;
    const trained = newest ? readTrainedFeatures(projectDir, count) : undefined;
    if (!trained) {
      throw new SagaError('FEATURES_MISSING', "This project's features are not trained yet: click Train in the Training panel, then show Features.", { dir: projectDir });
    }
    const value: FeatureColors = { iteration: trained.iteration, iterations: trained.iterations, colors: pcaColors(trained.features, trained.count, trained.dim) };
    this.cached = { key, value };
    return value;
  }

  /** Forget the colours (the project was closed). */
  clear(): void {
    this.cached = undefined;
  }
}

/** Size and modification time: a checkpoint rewritten under the same name is another one. */
function fileStamp(path: string): string {
  try {
    const s = statSync(path);
    return `${s.size}:${s.mtimeMs}`;
  } catch (e) {
    // Removed since it was listed (training keeps only the newest two): no stamp, so no cache hit.
    void e;
    return 'gone';
  }
}
