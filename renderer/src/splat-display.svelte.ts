/**
 * How the viewport colours the splats: their own colours, or the Features display mode (each splat
 * by the first three PCA axes of its trained feature). Recolouring goes through
 * Viewport.setSplatColors, never a reload; the colours themselves come from splat-colors.ts.
 */
import type { SagaApi } from '../../main/contract/api.ts';
import type { SagaErrorData } from '../../main/contract/errors.ts';
import { describeError } from './api/errors.ts';
import { featureDisplayColors } from './splat-colors.ts';
import type { Viewport } from './viewport/viewport.ts';

export type DisplayMode = 'scene' | 'features';

export class SplatDisplay {
  mode = $state<DisplayMode>('scene');
  /** The training iteration of the feature colours shown (Features mode), else null. */
  featuresIteration = $state<number | null>(null);
  /** Fetching feature colours from the backend. */
  loading = $state(false);
  private viewport: Viewport | null = null;
  /** Answers that arrive after a reset are about a scene no longer shown: dropped. */
  private generation = 0;

  constructor(
    private readonly api: SagaApi,
    private readonly onError: (error: SagaErrorData) => void,
  ) {}

  attach(viewport: Viewport): void {
    this.viewport = viewport;
  }

  /** Another scene is being shown (or none): it starts in its own colours. */
  reset(): void {
    this.generation++;
    this.mode = 'scene';
    this.featuresIteration = null;
    this.loading = false;
  }

  async toggleFeatures(): Promise<void> {
    if (this.loading) return;
    if (this.mode === 'features') this.showScene();
    else await this.showFeatures();
  }

  /** Colours each splat by its trained feature (the backend says FEATURES_MISSING before training). */
  async showFeatures(): Promise<void> {
    const viewport = this.viewport;
    if (!viewport || viewport.splatCount() === 0) return;
    const generation = this.generation;
    this.loading = true;
    try {
      const features = await this.api.call('project.featureColors', {});
      if (generation !== this.generation) return;
      viewport.setSplatColors(featureDisplayColors(viewport.sceneColors(), features.colors));
      this.mode = 'features';
      this.featuresIteration = features.iteration;
    } catch (e) {
      if (generation === this.generation) this.onError(describeError(e));
    } finally {
      if (generation === this.generation) this.loading = false;
    }
  }

  /** Back to the splats' own colours. */
  showScene(): void {
    const viewport = this.viewport;
    if (viewport && viewport.splatCount() > 0) viewport.setSplatColors(viewport.sceneColors());
    this.mode = 'scene';
    this.featuresIteration = null;
  }

  /** The trained features changed (a run ended): a Features view shows the new ones. */
  async featuresChanged(): Promise<void> {
    if (this.mode === 'features' && !this.loading) await this.showFeatures();
  }
}
