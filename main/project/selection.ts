/**
 * The current selection of the open project: one byte per Gaussian (1 = selected), kept by the
 * backend in memory. It is neither saved nor part of the history (as in SuperSplat, selecting is
 * not an edit; what is done with a selection is). Segmentation hands in a new selection as bytes
 * or a bitset and says how to combine it with the current one.
 *
 * Every operation takes `selectable` (Gaussians that can be selected: shown and not in a locked
 * layer) and returns the indices whose selection flipped, ascending, for the viewport.
 */
import type { SelectionMode } from '../contract/api.ts';
import { SagaError } from '../contract/errors.ts';

/** How a new selection combines with the current one (Shift adds, Ctrl subtracts): the API's type. */
export type { SelectionMode };

export const SELECTION_MODES: readonly SelectionMode[] = ['replace', 'add', 'subtract', 'intersect'];

/**
 * A selection handed in: one byte per Gaussian (non-zero = selected), or a bitset of ceil(count / 8)
 * bytes where Gaussian i is bit (i & 7) of byte (i >> 3), least significant bit first.
 */
export type SelectionInput = { bytes: Uint8Array } | { bits: Uint8Array };

/** Whether Gaussian i may be selected. */
export type Selectable = (i: number) => boolean;

export class Selection {
  readonly mask: Uint8Array;
  private selected = 0;

  constructor(readonly size: number) {
    this.mask = new Uint8Array(size);
  }

  /** Gaussians selected. */
  get count(): number {
    return this.selected;
  }

  /** The selected Gaussians, ascending. */
  indices(): Uint32Array {
    const out = new Uint32Array(this.selected);
    let k = 0;
    const m = this.mask;
    for (let i = 0; i < m.length; i++) if (m[i]) out[k++] = i;
    return out;
  }

  /** Combines `input` with the selection by `mode`; Gaussians that are not selectable end unselected. */
  combine(mode: SelectionMode, input: SelectionInput, selectable: Selectable): Uint32Array {
    const hit = inputReader(input, this.size);
    return this.update((i, was) => {
      switch (mode) {
        case 'replace': return hit(i);
        case 'add': return was || hit(i);
        case 'subtract': return was && !hit(i);
        case 'intersect': return was && hit(i);
      }
    }, selectable);
  }

  /** Selects exactly the selectable Gaussians that were not selected. */
  invert(selectable: Selectable): Uint32Array {
    return this.update((_i, was) => !was, selectable);
  }

  clear(): Uint32Array {
    return this.update(() => false, () => true);
  }

  /** Drops Gaussians that can no longer be selected (deleted, hidden, locked by an edit). */
  restrict(selectable: Selectable): Uint32Array {
    return this.update((_i, was) => was, selectable);
  }

  private update(next: (i: number, was: boolean) => boolean, selectable: Selectable): Uint32Array {
    const m = this.mask;
    const flipped = new Uint32Array(m.length);
    let k = 0;
    let selected = 0;
    for (let i = 0; i < m.length; i++) {
      const was = m[i] === 1;
      const now = next(i, was) && selectable(i);
      if (now !== was) {
        m[i] = now ? 1 : 0;
        flipped[k++] = i;
      }
      if (now) selected++;
    }
    this.selected = selected;
    return flipped.slice(0, k);
  }
}

function inputReader(input: SelectionInput, count: number): (i: number) => boolean {
  if ('bytes' in input) {
    const b = input.bytes;
    if (b.length !== count) throw new SagaError('INTERNAL', `A selection of ${b.length} bytes was handed in for a scene of ${count} Gaussians.`);
    return (i) => b[i] !== 0;
  }
  const bits = input.bits;
  if (bits.length !== Math.ceil(count / 8)) throw new SagaError('INTERNAL', `A selection bitset of ${bits.length} bytes was handed in for a scene of ${count} Gaussians (needs ${Math.ceil(count / 8)}).`);
  return (i) => (bits[i >>> 3]! & (1 << (i & 7))) !== 0;
}
