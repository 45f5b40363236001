/**
 * The open project's per-Gaussian display state (contract/display-state.ts) and a log of which
 * Gaussians changed at each version, so the viewport can fetch only those. The display byte is
 * worked out here, once, from the per-Gaussian flags, the layer rows and the selection.
 */
import { DISPLAY_DELETED, DISPLAY_LOCKED, DISPLAY_SELECTED, DISPLAY_SHOWN, type DisplayFrame } from '../contract/display-state.ts';
import { FLAG_DELETED, FLAG_HIDDEN, type GaussianState } from './gaussian-state.ts';

/** What the display byte depends on besides the per-Gaussian state: layer visibility and locks. */
export interface LayerDisplay {
  /** Per layer id (0 = unassigned): 1 when shown. */
  visible: Uint8Array;
  /** Per layer id: 1 when locked. */
  locked: Uint8Array;
}

export class DisplayState {
  readonly display: Uint8Array;
  private currentVersion = 0;
  private shownCount = 0;
  /** Changed Gaussians per version, oldest first; `logBase` is the version before the oldest entry. */
  private log: { version: number; indices: Uint32Array }[] = [];
  private logBase = 0;
  private logged = 0;

  constructor(
    private readonly state: GaussianState,
    private readonly selected: Uint8Array,
    private layerDisplay: LayerDisplay,
  ) {
    this.display = new Uint8Array(state.flags.length);
    for (let i = 0; i < this.display.length; i++) {
      const d = this.byteFor(i);
      this.display[i] = d;
      if (d & DISPLAY_SHOWN) this.shownCount++;
    }
  }

  get version(): number {
    return this.currentVersion;
  }

  /** Gaussians drawn now (what the viewport's splat count shows). */
  get shown(): number {
    return this.shownCount;
  }

  get count(): number {
    return this.display.length;
  }

  /** Shown and not locked: what the selection may hold. */
  selectable = (i: number): boolean => (this.display[i]! & (DISPLAY_SHOWN | DISPLAY_LOCKED)) === DISPLAY_SHOWN;

  setLayerDisplay(layerDisplay: LayerDisplay): void {
    this.layerDisplay = layerDisplay;
  }

  private byteFor(i: number): number {
    const f = this.state.flags[i]!;
    const layer = this.state.layers[i]!;
    let d = 0;
    if (f & FLAG_DELETED) d |= DISPLAY_DELETED;
    else if (!(f & FLAG_HIDDEN) && this.layerDisplay.visible[layer]) d |= DISPLAY_SHOWN;
    if (this.layerDisplay.locked[layer]) d |= DISPLAY_LOCKED;
    if (this.selected[i]) d |= DISPLAY_SELECTED;
    return d;
  }

  /**
   * Works the display byte out again for `groups` of Gaussians that may have changed and records
   * them all as changed at a new version (a layer's colour can change with its byte unchanged).
   * No-op without indices.
   */
  refresh(groups: Uint32Array[]): void {
    const total = groups.reduce((n, g) => n + g.length, 0);
    if (total === 0) return;
    const indices = new Uint32Array(total);
    let k = 0;
    for (const g of groups) {
      for (let j = 0; j < g.length; j++) {
        const i = g[j]!;
        const before = this.display[i]!;
        const after = this.byteFor(i);
        if (before !== after) {
          this.display[i] = after;
          this.shownCount += (after & DISPLAY_SHOWN) - (before & DISPLAY_SHOWN);
        }
        indices[k++] = i;
      }
    }
    this.currentVersion++;
    this.log.push({ version: this.currentVersion, indices });
    this.logged += total;
    // Past one entry per Gaussian a whole frame is smaller than the changes: forget the oldest.
    while (this.logged > this.display.length && this.log.length > 1) {
      const old = this.log.shift()!;
      this.logged -= old.indices.length;
      this.logBase = old.version;
    }
  }

  /** Indices of Gaussians in any of `layerIds` (0 = unassigned). One pass over the scene. */
  gaussiansInLayers(layerIds: number[]): Uint32Array {
    if (layerIds.length === 0) return new Uint32Array(0);
    const wanted = new Uint8Array(65536);
    for (const id of layerIds) wanted[id] = 1;
    const layers = this.state.layers;
    const out = new Uint32Array(layers.length);
    let k = 0;
    for (let i = 0; i < layers.length; i++) if (wanted[layers[i]!]) out[k++] = i;
    return out.slice(0, k);
  }

  /**
   * The frame that brings a viewport at version `since` up to date: the changes when the log still
   * reaches back there and they are fewer than the scene, else the whole state.
   */
  frame(since?: number): DisplayFrame {
    if (since === undefined || since < this.logBase || since > this.currentVersion) return this.whole();
    const parts = this.log.filter((e) => e.version > since).map((e) => e.indices);
    const merged = new Uint32Array(parts.reduce((n, p) => n + p.length, 0));
    let pos = 0;
    for (const p of parts) {
      merged.set(p, pos);
      pos += p.length;
    }
    merged.sort();
    let n = 0;
    for (let j = 0; j < merged.length; j++) if (j === 0 || merged[j] !== merged[j - 1]) merged[n++] = merged[j]!;
    // 7 bytes per changed Gaussian against 3 per Gaussian for the whole state.
    if (n * 7 > this.display.length * 3) return this.whole();
    const indices = merged.slice(0, n);
    const layers = new Uint16Array(n);
    const display = new Uint8Array(n);
    for (let j = 0; j < n; j++) {
      const i = indices[j]!;
      layers[j] = this.state.layers[i]!;
      display[j] = this.display[i]!;
    }
    return { kind: 'changes', count: this.display.length, version: this.currentVersion, indices, layers, display };
  }

  private whole(): DisplayFrame {
    return { kind: 'whole', count: this.display.length, version: this.currentVersion, layers: this.state.layers, display: this.display };
  }
}
