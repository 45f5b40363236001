/**
 * The segmentation methods eval knows by name. Trained SAGA segmentation registers here when it
 * exists; until then the single-view baseline is what runs.
 */
import { SagaError } from '../../contract/errors.ts';
import { singleViewMethod } from './single-view.ts';
import type { SegmentationMethod } from '../segment/types.ts';

const REGISTRY: Record<string, () => SegmentationMethod> = {
  'single-view': () => singleViewMethod(),
};

export const METHOD_NAMES = Object.keys(REGISTRY);

export function methodsByName(names: readonly string[]): SegmentationMethod[] {
  return names.map((n) => {
    const make = REGISTRY[n];
    if (!make) throw new SagaError('BAD_ARGUMENT', `Unknown method '${n}'. Available: ${METHOD_NAMES.join(', ')}.`);
    return make();
  });
}
