/**
 * How the viewport colours the splats: a base (their own colours, or the Features display mode:
 * each splat by the first three PCA axes of its trained feature) with the open project's edit
 * state composed over it (hidden and deleted splats drawn transparent, layer tints, the selection).
 * Recolouring goes through Viewport.setSplatColors, never a reload, and after an edit only the
 * splats that changed are sent; the colours themselves come from splat-colors.ts.
 */
import type { SagaApi } from '../../main/contract/api.ts';
import type { SagaErrorData } from '../../main/contract/errors.ts';
import { describeError } from './api/errors.ts';
import type { Changed, DisplayMirror } from './display-mirror.ts';
import { composeSplatColors, featureDisplayColors, type EditLook } from './splat-colors.ts';
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
  /** The Features mode's colours (RGBA per splat); null: the scene's own. */
  private featureBase: Uint8Array | null = null;
  /** The open project's per-Gaussian state and layer colours; null without a project. */
  private edit: { mirror: DisplayMirror; tints: Uint32Array } | null = null;

  constructor(
    private readonly api: SagaApi,
    private readonly onError: (error: SagaErrorData) => void,
  ) {}

  attach(viewport: Viewport): void {
    this.viewport = viewport;
  }

  /** Another scene is being shown (or none): it starts in its own colours, with no edit state. */
  reset(): void {
    this.generation++;
    this.mode = 'scene';
    this.featuresIteration = null;
    this.loading = false;
    this.featureBase = null;
    this.edit = null;
  }

  /**
   * The project's edit state to draw (or none), with its layers' colours (splat-colors layerTints).
   * Every splat is drawn again.
   */
  showEditState(mirror: DisplayMirror | null, tints?: Uint32Array): void {
    this.edit = mirror ? { mirror, tints: tints ?? new Uint32Array(65536) } : null;
    this.redraw('all');
  }

  /**
   * New layer colours. The splats they change are among the next display changes (the backend
   * marks a recoloured layer's Gaussians changed), so nothing is drawn here.
   */
  setLayerTints(tints: Uint32Array): void {
    if (this.edit) this.edit.tints = tints;
  }

  /** Draws the splats an edit changed (all, or these) from the base colours and the edit state. */
  redraw(changed: Changed): void {
    const viewport = this.viewport;
    const count = viewport?.splatCount() ?? 0;
    if (!viewport || count === 0) return;
    const base = this.featureBase ?? viewport.sceneColors();
    const look = this.look(count);
    if (changed === 'all') viewport.setSplatColors(look ? composeSplatColors(base, look) : base);
    else if (changed.length > 0) viewport.setSplatColors(look ? composeSplatColors(base, look, changed) : pick(base, changed), { indices: changed });
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
      this.featureBase = featureDisplayColors(viewport.sceneColors(), features.colors);
      this.redraw('all');
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
    this.featureBase = null;
    this.redraw('all');
    this.mode = 'scene';
    this.featuresIteration = null;
  }

  /** The trained features changed (a run ended): a Features view shows the new ones. */
  async featuresChanged(): Promise<void> {
    if (this.mode === 'features' && !this.loading) await this.showFeatures();
  }

  /** The edit state as splat-colors composes it; layer tints give way to the Features mode's colours. */
  private look(count: number): EditLook | null {
    const edit = this.edit;
    if (!edit || edit.mirror.count !== count) return null;
    return { layers: edit.mirror.layers, display: edit.mirror.display, tints: edit.tints, tintLayers: this.featureBase === null };
  }
}

/** The RGBA of `indices` out of per-splat colours. */
function pick(colors: Uint8Array, indices: Uint32Array): Uint8Array {
  const out = new Uint8Array(indices.length * 4);
  for (let k = 0; k < indices.length; k++) out.set(colors.subarray(indices[k]! * 4, indices[k]! * 4 + 4), k * 4);
  return out;
}
