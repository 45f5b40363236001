/**
 * The window's copy of the open project's per-Gaussian display state (contract/display-state.ts):
 * a layer id and a display byte per Gaussian, at a version of the backend's state. Frames from
 * 'edit.display' bring it up to date (the whole state, or what changed since its version), and a
 * segmentation answer's selection bitset updates the selected bits at once, so a click's preview
 * needs no second request. Each update says which Gaussians to redraw. Pure: no Svelte, no viewport.
 */
import { DISPLAY_SELECTED, DISPLAY_SHOWN, type DisplayFrame } from '../../main/contract/display-state.ts';
import { SagaError } from '../../main/contract/errors.ts';

/** Which Gaussians an update changed: all of them, or these (ascending). */
export type Changed = 'all' | Uint32Array;

export class DisplayMirror {
  readonly layers: Uint16Array;
  readonly display: Uint8Array;
  /** The backend's state version this copy matches. */
  version: number;

  /** Starts from a whole frame (the first 'edit.display' of a project, without `since`). */
  constructor(frame: DisplayFrame) {
    if (frame.kind !== 'whole') throw new SagaError('INTERNAL', 'The display state must start from a whole frame. Reload the page or restart the app.');
    this.layers = frame.layers.slice();
    this.display = frame.display.slice();
    this.version = frame.version;
  }

  get count(): number {
    return this.display.length;
  }

  /** Gaussians drawn: not deleted, not hidden, their layer shown. */
  shown(): number {
    let n = 0;
    for (let i = 0; i < this.display.length; i++) n += this.display[i]! & DISPLAY_SHOWN;
    return n;
  }

  /** Brings the copy to the frame's version; a frame for another scene size is refused. */
  apply(frame: DisplayFrame): Changed {
    if (frame.count !== this.count) {
      throw new SagaError('INTERNAL', `The display state is for ${frame.count} Gaussians, but the viewport shows ${this.count}. Open the project again.`);
    }
    this.version = frame.version;
    if (frame.kind === 'whole') {
      this.layers.set(frame.layers);
      this.display.set(frame.display);
      return 'all';
    }
    const indices = frame.indices!;
    for (let j = 0; j < indices.length; j++) {
      const i = indices[j]!;
      this.layers[i] = frame.layers[j]!;
      this.display[i] = frame.display[j]!;
    }
    return indices.slice();
  }

  /**
   * Sets the selected bits from a selection bitset (bit i & 7 of byte i >> 3) that the backend
   * answered at `version`. Returns the Gaussians whose bit flipped, and whether the copy is now at
   * `version`: it is when the selection was the only change since the copy's version (one version
   * step when anything flipped, none otherwise). Otherwise the caller fetches the changes since
   * the copy's (unchanged) version; they carry these bits too, so nothing is applied twice wrong.
   */
  applySelection(bits: Uint8Array, version: number): { flipped: Uint32Array; current: boolean } {
    const n = this.count;
    if (bits.length !== Math.ceil(n / 8)) {
      throw new SagaError('INTERNAL', `A selection of ${bits.length * 8} bits came for ${n} Gaussians. Open the project again.`);
    }
    const display = this.display;
    const flipped = new Uint32Array(n);
    let k = 0;
    for (let byte = 0; byte < bits.length; byte++) {
      const b = bits[byte]!;
      const base = byte << 3;
      // Whole bytes of unselected Gaussians that stay unselected are the common case: skip them fast.
      if (b === 0 && ((display[base]! | display[base + 1]! | display[base + 2]! | display[base + 3]! | display[base + 4]! | display[base + 5]! | display[base + 6]! | display[base + 7]!) & DISPLAY_SELECTED) === 0) continue;
      for (let bit = 0; bit < 8; bit++) {
        const i = base + bit;
        if (i >= n) break;
        const want = (b >> bit) & 1 ? DISPLAY_SELECTED : 0;
        if ((display[i]! & DISPLAY_SELECTED) !== want) {
          display[i] = (display[i]! & ~DISPLAY_SELECTED) | want;
          flipped[k++] = i;
        }
      }
    }
    const current = version === this.version + (k > 0 ? 1 : 0);
    if (current) this.version = version;
    return { flipped: flipped.slice(0, k), current };
  }
}

/** Both lists of changed Gaussians as one ascending list without repeats (either may be 'all'). */
export function mergeChanged(a: Changed, b: Changed): Changed {
  if (a === 'all' || b === 'all') return 'all';
  const out = new Uint32Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length || j < b.length) {
    const next = j >= b.length || (i < a.length && a[i]! <= b[j]!) ? a[i++]! : b[j++]!;
    if (k === 0 || out[k - 1] !== next) out[k++] = next;
  }
  return out.subarray(0, k);
}
