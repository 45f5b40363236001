/**
 * The segmentation methods eval knows by name: the single-view baseline, SAGA and its ablations
 * (without post-processing, or without its multi-view check; features trained without one of the
 * two losses).
 */
import { SagaError } from '../../contract/errors.ts';
import { singleViewMethod } from './single-view.ts';
import { sagaMethod } from '../segment/saga-method.ts';
import { NO_POST, SAGA_DEFAULTS } from '../segment/saga.ts';
import type { SegmentationMethod } from '../segment/types.ts';

const REGISTRY: Record<string, () => SegmentationMethod> = {
  'single-view': () => singleViewMethod(),
  saga: () => sagaMethod('saga', 'SAGA: trained features, the default threshold and post-processing', 'full'),
  'saga-no-post': () => sagaMethod('saga-no-post', 'SAGA without 3D post-processing', 'full', { post: NO_POST }),
  'saga-no-views': () => sagaMethod('saga-no-views', 'SAGA without the multi-view check (every other post-processing phase on)', 'full', { post: { ...SAGA_DEFAULTS.post, views: false } }),
  'saga-no-corr': () => sagaMethod('saga-no-corr', 'SAGA trained without the correspondence loss', 'no-corr'),
  'saga-no-guidance': () => sagaMethod('saga-no-guidance', 'SAGA trained without the SAM-guidance loss', 'no-guidance'),
};

/** The methods that need trained features (the suite trains when any of them runs). */
export const TRAINED_METHODS = ['saga', 'saga-no-post', 'saga-no-views', 'saga-no-corr', 'saga-no-guidance'];

export const METHOD_NAMES = Object.keys(REGISTRY);

export function methodsByName(names: readonly string[]): SegmentationMethod[] {
  return names.map((n) => {
    const make = REGISTRY[n];
    if (!make) throw new SagaError('BAD_ARGUMENT', `Unknown method '${n}'. Available: ${METHOD_NAMES.join(', ')}.`);
    return make();
  });
}
