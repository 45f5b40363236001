/**
 * The colours the viewport draws splats with, worked out from the scene's own colours (8-bit RGBA
 * per splat, Viewport.sceneColors) as pure functions: the Features display mode, and the per-splat
 * edit state (hidden, deleted, selected, layer colours) composed over either; the viewport only uploads.
 */
import { DISPLAY_SELECTED, DISPLAY_SHOWN } from '../../main/contract/display-state.ts';

/**
 * The Features display mode: each splat in its feature colour (8-bit RGB per splat, from
 * 'project.featureColors') with its own opacity, so faint splats stay faint and the scene keeps
 * its shape.
 */
export function featureDisplayColors(scene: Uint8Array, featureRgb: Uint8Array): Uint8Array {
  const n = scene.length >> 2;
  if (featureRgb.length !== n * 3) {
    throw new RangeError(`The trained features are for ${Math.floor(featureRgb.length / 3)} Gaussians, but the viewport shows ${n}.`);
  }
  const out = new Uint8Array(n * 4);
  for (let i = 0, j = 0, k = 0; i < n; i++, j += 3, k += 4) {
    out[k] = featureRgb[j]!;
    out[k + 1] = featureRgb[j + 1]!;
    out[k + 2] = featureRgb[j + 2]!;
    out[k + 3] = scene[k + 3]!;
  }
  return out;
}

/** The colour selected splats are pulled towards (the app's accent), and how far (of 256). */
export const SELECTION_TINT: readonly [number, number, number] = [255, 190, 30];
const SELECTION_WEIGHT = 170;
/** How far a splat in a layer is pulled towards its layer's colour (of 256): the splat stays readable. */
const LAYER_WEIGHT = 110;
/** Marks a layer id that has a tint in the table (a black layer colour is a colour too). */
const HAS_TINT = 1 << 24;

/** Per layer id (0..65535): its colour packed r | g << 8 | b << 16 with HAS_TINT, 0 for none. */
export function layerTints(layers: readonly { id: number; colour: string }[]): Uint32Array {
  const table = new Uint32Array(65536);
  for (const l of layers) {
    const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(l.colour);
    if (!m) continue;
    table[l.id] = (HAS_TINT | parseInt(m[1]!, 16) | (parseInt(m[2]!, 16) << 8) | (parseInt(m[3]!, 16) << 16)) >>> 0;
  }
  return table;
}

/** What the edit state looks like on the splats: the per-Gaussian state and the layer colours. */
export interface EditLook {
  layers: Uint16Array;
  /** DISPLAY_* bits per Gaussian (contract/display-state.ts). */
  display: Uint8Array;
  /** layerTints() of the layer list. */
  tints: Uint32Array;
  /** Tint splats by their layer's colour (off in the Features mode, whose colours say something else). */
  tintLayers: boolean;
}

/**
 * The colours the viewport draws with, from base colours (the scene's own or a display mode's, 8-bit
 * RGBA per splat) and the edit state: a splat that is not shown (deleted, hidden, its layer hidden)
 * gets alpha 0; one in a layer is pulled towards the layer's colour; a selected one towards the
 * selection tint, over that. Without `indices` every splat, else colour k is for splat indices[k].
 */
export function composeSplatColors(base: Uint8Array, look: EditLook, indices?: Uint32Array): Uint8Array {
  const { layers, display, tints, tintLayers } = look;
  const n = indices ? indices.length : base.length >> 2;
  const out = new Uint8Array(n * 4);
  const [sr, sg, sb] = SELECTION_TINT;
  for (let k = 0; k < n; k++) {
    const i = indices ? indices[k]! : k;
    const b = i << 2;
    const o = k << 2;
    const d = display[i]!;
    let r = base[b]!;
    let g = base[b + 1]!;
    let bl = base[b + 2]!;
    if ((d & DISPLAY_SHOWN) === 0) {
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = bl;
      out[o + 3] = 0;
      continue;
    }
    const tint = tintLayers ? tints[layers[i]!]! : 0;
    if (tint & HAS_TINT) {
      r += (((tint & 0xff) - r) * LAYER_WEIGHT) >> 8;
      g += ((((tint >>> 8) & 0xff) - g) * LAYER_WEIGHT) >> 8;
      bl += ((((tint >>> 16) & 0xff) - bl) * LAYER_WEIGHT) >> 8;
    }
    if (d & DISPLAY_SELECTED) {
      r += ((sr - r) * SELECTION_WEIGHT) >> 8;
      g += ((sg - g) * SELECTION_WEIGHT) >> 8;
      bl += ((sb - bl) * SELECTION_WEIGHT) >> 8;
    }
    out[o] = r;
    out[o + 1] = g;
    out[o + 2] = bl;
    out[o + 3] = base[b + 3]!;
  }
  return out;
}
