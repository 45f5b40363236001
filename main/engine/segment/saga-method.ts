/**
 * SAGA as a SegmentationMethod for the evaluation: the prompt view's camera, the trained features
 * of one training variant (full, or an ablation), and the options under test.
 */
import { SagaError } from '../../contract/errors.ts';
import { findCamera } from '../eval/single-view.ts';
import { PixelProbe } from './pixel-probe.ts';
import { sagaSegment, type SagaOptions } from './saga.ts';
import type { PromptInput, SegmentationContext, SegmentationMethod } from './types.ts';

export function sagaMethod(name: string, description: string, variant: string, options: Partial<SagaOptions> = {}): SegmentationMethod {
  const probes = new WeakMap<object, PixelProbe>();
  return {
    name,
    description,
    async segment(context: SegmentationContext, prompt: PromptInput): Promise<Uint8Array> {
      const trained = context.trained?.get(variant);
      if (!trained || !context.index) {
        throw new SagaError('NOT_TRAINED', `Method '${name}' needs features trained with the '${variant}' variant; run the evaluation with training.`);
      }
      let probe = context.probe ?? probes.get(context.scene);
      if (!probe) probes.set(context.scene, (probe = new PixelProbe(context.scene)));
      const camera = findCamera(context.cameras, prompt.view);
      const viewMasks = prompt.kind === 'mask' ? undefined : await context.masks.masksFor(prompt.view);
      return sagaSegment({
        scene: context.scene, camera, prompt, unit: trained.features, dim: trained.dim, probe, index: context.index,
        ...(viewMasks ? { viewMasks } : {}), options,
      }).selection;
    },
  };
}
