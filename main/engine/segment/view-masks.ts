/**
 * Choosing a 2D mask among a view's automatic masks (SAM's, the built-in ones, or imported) for a
 * prompt, the way SAM's own prompt decoder picks a mask for a click or a box:
 * - points with at least one negative: for each positive point, the largest mask that contains it
 *   and contains no negative point; the 2D mask is the union of these. Automatic masks are nested
 *   (part, object, group), so "largest without a negative" climbs to the whole object and stops
 *   below the group that would also take the neighbour the negative click is on.
 * - positives only (a scribble, a lone click): the smallest mask that holds every positive point, as
 *   a scribble across an object's parts names the object; if none holds them all, the union over
 *   points of the smallest mask holding each. No candidate at all: no mask.
 * - box: the mask whose own bounding box has the highest IoU with the prompt box (ties: larger mask).
 * Point and box coordinates are in the masks' own pixel grid.
 * Used by the single-view baseline and by SAGA's prompts in a prepared view (a stand-in for SAM's
 * decoder when no model is installed).
 */
import { boxIoU, maskArea, maskBox, maskContains, type Mask2D } from './mask2d.ts';
import type { PointPrompt } from './types.ts';

/** The 2D mask for point prompts (see the file comment for the rule); undefined when no mask fits. */
export function maskForPoints(masks: readonly Mask2D[], points: readonly PointPrompt[]): Mask2D | undefined {
  const positives = points.filter((p) => p.label === 1);
  const negatives = points.filter((p) => p.label === 0);
  if (negatives.length === 0) return maskForPositives(masks, positives);
  const allowed = masks.filter((m) => !negatives.some((n) => maskContains(m, n.x, n.y)));
  const chosen = new Set<Mask2D>();
  for (const p of positives) {
    let best: Mask2D | undefined;
    let bestArea = 0;
    for (const m of allowed) {
      if (!maskContains(m, p.x, p.y)) continue;
      const a = maskArea(m);
      if (a > bestArea) { best = m; bestArea = a; }
    }
    if (best) chosen.add(best);
  }
  return union(chosen);
}

function union(chosen: Set<Mask2D>): Mask2D | undefined {
  if (chosen.size === 0) return undefined;
  const [first] = chosen;
  const data = new Uint8Array(first!.data.length);
  for (const m of chosen) for (let i = 0; i < data.length; i++) if (m.data[i]) data[i] = 1;
  return { width: first!.width, height: first!.height, data };
}

function maskForPositives(masks: readonly Mask2D[], positives: readonly PointPrompt[]): Mask2D | undefined {
  if (positives.length === 0) return undefined;
  const smallestHolding = (pts: readonly PointPrompt[]): Mask2D | undefined => {
    let best: Mask2D | undefined;
    let bestArea = Infinity;
    for (const m of masks) {
      if (!pts.every((p) => maskContains(m, p.x, p.y))) continue;
      const a = maskArea(m);
      if (a < bestArea) { best = m; bestArea = a; }
    }
    return best;
  };
  const all = smallestHolding(positives);
  if (all) return all;
  const chosen = new Set<Mask2D>();
  for (const p of positives) {
    const m = smallestHolding([p]);
    if (m) chosen.add(m);
  }
  return union(chosen);
}

/** The 2D mask for a box prompt: best bounding-box IoU, ties to the larger mask. */
export function maskForBox(masks: readonly Mask2D[], box: readonly number[]): Mask2D | undefined {
  let best: Mask2D | undefined;
  let bestScore = 0;
  let bestArea = 0;
  for (const m of masks) {
    const b = maskBox(m);
    if (!b) continue;
    const score = boxIoU(b, box);
    const area = maskArea(m);
    if (score > bestScore || (score === bestScore && score > 0 && area > bestArea)) { best = m; bestScore = score; bestArea = area; }
  }
  return best;
}
