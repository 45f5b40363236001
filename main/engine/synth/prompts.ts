/**
 * Prompts made from the ground truth, one per object: the view where the object is best seen, a
 * positive click deep inside it, a negative click on the neighbour it touches most in that view, a
 * scribble along its main axis and its tight box. Deterministic: no randomness, only the label maps.
 */
import type { EvalPrompt } from '../eval/types.ts';
import { insideDistance, maskBox, maskFromLabels, type Mask2D } from '../segment/mask2d.ts';
import { BACKGROUND_ID, type SynthObject } from './generate.ts';

export interface LabelledView {
  name: string;
  width: number;
  height: number;
  objectLabels: Uint16Array;
}

export interface PromptOptions {
  /** Objects seen by fewer pixels than this in their best view get no prompt (default 40). */
  minArea?: number;
}

/** Pixels of `id` that touch another label (4-neighbourhood), counted per neighbouring label. */
function neighbourContacts(view: LabelledView, id: number): Map<number, number> {
  const { width: W, height: H, objectLabels: L } = view;
  const contacts = new Map<number, number>();
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (L[y * W + x] !== id) continue;
      for (const [nx, ny] of [[x + 1, y], [x - 1, y], [x, y + 1], [x, y - 1]] as const) {
        if (nx < 0 || ny < 0 || nx >= W || ny >= H) continue;
        const other = L[ny * W + nx]!;
        if (other !== id) contacts.set(other, (contacts.get(other) ?? 0) + 1);
      }
    }
  }
  return contacts;
}

function touchesBorder(m: Mask2D): boolean {
  const { width: W, height: H, data } = m;
  for (let x = 0; x < W; x++) if (data[x] || data[(H - 1) * W + x]) return true;
  for (let y = 0; y < H; y++) if (data[y * W] || data[y * W + W - 1]) return true;
  return false;
}

/** The deepest pixel (largest inside distance), first in scan order on ties; returned at its centre. */
function deepestPoint(dist: Float32Array, width: number): { x: number; y: number; depth: number } {
  let best = -1;
  let bestD = 0;
  for (let i = 0; i < dist.length; i++) if (dist[i]! > bestD) { bestD = dist[i]!; best = i; }
  return { x: (best % width) + 0.5, y: Math.floor(best / width) + 0.5, depth: bestD };
}

/**
 * A scribble: from the core of the object (inside distance at least half the maximum) take the
 * principal axis, and walk it both ways from the centroid while staying at least a pixel inside.
 */
function scribbleAlongAxis(dist: Float32Array, width: number, height: number, maxDepth: number): [number, number][] {
  const core = Math.max(1, maxDepth * 0.5);
  let n = 0, mx = 0, my = 0;
  for (let i = 0; i < dist.length; i++) if (dist[i]! >= core) { n++; mx += i % width; my += Math.floor(i / width); }
  if (n === 0) return [];
  mx /= n; my /= n;
  let sxx = 0, syy = 0, sxy = 0;
  for (let i = 0; i < dist.length; i++) {
    if (dist[i]! < core) continue;
    const dx = (i % width) - mx, dy = Math.floor(i / width) - my;
    sxx += dx * dx; syy += dy * dy; sxy += dx * dy;
  }
  const angle = 0.5 * Math.atan2(2 * sxy, sxx - syy);
  const ax = Math.cos(angle), ay = Math.sin(angle);
  const inside = (x: number, y: number) => {
    const px = Math.floor(x), py = Math.floor(y);
    return px >= 0 && py >= 0 && px < width && py < height && dist[py * width + px]! >= 1;
  };
  const cx = mx + 0.5, cy = my + 0.5;
  if (!inside(cx, cy)) return [];
  const forward: [number, number][] = [];
  const backward: [number, number][] = [];
  for (const [sign, out] of [[1, forward], [-1, backward]] as const) {
    for (let s = 2; s < Math.max(width, height); s += 2) {
      const x = cx + sign * s * ax, y = cy + sign * s * ay;
      if (!inside(x, y)) break;
      out.push([x, y]);
    }
  }
  return [...backward.reverse(), [cx, cy], ...forward];
}

/**
 * One prompt per object (clutter included when well visible). The prompt view maximises the visible
 * area, halved when the object touches the image border (a cut-off object is a poor prompt view).
 */
export function promptsFromTruth(objects: SynthObject[], views: LabelledView[], options: PromptOptions = {}): EvalPrompt[] {
  const minArea = options.minArea ?? 40;
  const prompts: EvalPrompt[] = [];
  for (const object of objects) {
    if (object.id === BACKGROUND_ID) continue;
    let best: { view: LabelledView; mask: Mask2D; area: number; score: number } | undefined;
    for (const view of views) {
      const mask = maskFromLabels(view.objectLabels, view.width, view.height, [object.id]);
      let area = 0;
      for (let i = 0; i < mask.data.length; i++) area += mask.data[i]!;
      const score = area * (touchesBorder(mask) ? 0.5 : 1);
      if (area >= minArea && (!best || score > best.score)) best = { view, mask, area, score };
    }
    if (!best) continue;
    const { view, mask, area } = best;
    const dist = insideDistance(mask);
    const positive = deepestPoint(dist, view.width);

    const contacts = neighbourContacts(view, object.id);
    let neighbour = BACKGROUND_ID;
    let most = 0;
    for (const [id, count] of contacts) if (id !== BACKGROUND_ID && count > most) { most = count; neighbour = id; }
    const nMask = maskFromLabels(view.objectLabels, view.width, view.height, [neighbour]);
    const nDist = insideDistance(nMask);
    let nMax = 0;
    for (let i = 0; i < nDist.length; i++) if (nDist[i]! > nMax) nMax = nDist[i]!;
    // Close to the target (that is where a user clicks to say "not this"), but clearly inside the neighbour.
    const margin = Math.min(2, nMax);
    let negative = -1;
    let negativeD = Infinity;
    for (let i = 0; i < nDist.length; i++) {
      if (nDist[i]! < margin || nDist[i] === 0) continue;
      const d = Math.hypot((i % view.width) + 0.5 - positive.x, Math.floor(i / view.width) + 0.5 - positive.y);
      if (d < negativeD) { negativeD = d; negative = i; }
    }
    const points: EvalPrompt['points'] = [{ x: positive.x, y: positive.y, label: 1 }];
    if (negative >= 0) points.push({ x: (negative % view.width) + 0.5, y: Math.floor(negative / view.width) + 0.5, label: 0 });

    const scribble = scribbleAlongAxis(dist, view.width, view.height, positive.depth);
    prompts.push({
      id: `${object.id}-${object.name}`,
      targetId: object.id,
      targetName: object.name,
      view: view.name,
      visibleArea: area,
      points,
      scribble: scribble.length > 0 ? scribble : [[positive.x, positive.y]],
      box: maskBox(mask)!,
      negativeOn: negative >= 0 ? neighbour : -1,
    });
  }
  return prompts;
}
