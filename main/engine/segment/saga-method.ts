/**
 * SAGA as a SegmentationMethod for the evaluation: the prompt view's camera, the trained features
 * of one training variant (full, or an ablation), and the options under test. The training views'
 * blends for the multi-view check are recorded once per scene and mask source, as the app records a
 * project's prepared views once.
 */
import { SagaError } from '../../contract/errors.ts';
import type { GaussianScene } from '../../scene/gaussians.ts';
import { findCamera } from '../eval/single-view.ts';
import { PixelProbe } from './pixel-probe.ts';
import { sagaSegment, type SagaOptions } from './saga.ts';
import type { PromptInput, SegmentationContext, SegmentationMethod, ViewMasks } from './types.ts';
import { buildViewVotes, spreadPick, VIEW_VOTE_DEFAULTS, type CheckView, type ViewVotes } from './view-check.ts';

const probes = new WeakMap<GaussianScene, PixelProbe>();
const votes = new WeakMap<GaussianScene, WeakMap<ViewMasks, Promise<ViewVotes | undefined>>>();

/** The recorded views of a context's scene (undefined when no view has masks). */
export function contextViewVotes(context: SegmentationContext): Promise<ViewVotes | undefined> {
  let byMasks = votes.get(context.scene);
  if (!byMasks) votes.set(context.scene, (byMasks = new WeakMap()));
  let made = byMasks.get(context.masks);
  if (!made) {
    made = (async () => {
      const views: CheckView[] = [];
      for (const camera of spreadPick(context.cameras, VIEW_VOTE_DEFAULTS.maxViews)) {
        // A view without automatic masks cannot vote.
        const masks = await context.masks.masksFor(camera.name).catch((e: unknown) => {
          if (e instanceof SagaError && e.code === 'MASKS_MISSING') return [];
          throw e;
        });
        if (masks.length) views.push({ camera, masks });
      }
      return views.length ? buildViewVotes(context.scene, views) : undefined;
    })();
    byMasks.set(context.masks, made);
  }
  return made;
}

export function sagaMethod(name: string, description: string, variant: string, options: Partial<SagaOptions> = {}): SegmentationMethod {
  return {
    name,
    description,
    async prepare(context: SegmentationContext): Promise<void> {
      if (options.post?.views !== false) await contextViewVotes(context);
    },
    async segment(context: SegmentationContext, prompt: PromptInput): Promise<Uint8Array> {
      const trained = context.trained?.get(variant);
      if (!trained || !context.index) {
        throw new SagaError('NOT_TRAINED', `Method '${name}' needs features trained with the '${variant}' variant; run the evaluation with training.`);
      }
      let probe = context.probe ?? probes.get(context.scene);
      if (!probe) probes.set(context.scene, (probe = new PixelProbe(context.scene)));
      const camera = findCamera(context.cameras, prompt.view);
      const viewMasks = prompt.kind === 'mask' ? undefined : await context.masks.masksFor(prompt.view);
      const viewVotes = options.post?.views === false ? undefined : await contextViewVotes(context);
      return sagaSegment({
        scene: context.scene, camera, prompt, unit: trained.features, dim: trained.dim, probe, index: context.index,
        ...(viewMasks ? { viewMasks } : {}), ...(viewVotes ? { viewVotes } : {}), options,
      }).selection;
    },
  };
}
