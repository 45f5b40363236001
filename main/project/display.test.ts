import { describe, expect, it } from 'vitest';
import { DISPLAY_DELETED, DISPLAY_LOCKED, DISPLAY_SELECTED, DISPLAY_SHOWN } from '../contract/display-state.ts';
import { DisplayState, type LayerDisplay } from './display.ts';
import { FLAG_DELETED, FLAG_HIDDEN, emptyState } from './gaussian-state.ts';

function layerDisplay(hidden: number[] = [], locked: number[] = []): LayerDisplay {
  const visible = new Uint8Array(65536).fill(1);
  const lock = new Uint8Array(65536);
  for (const id of hidden) visible[id] = 0;
  for (const id of locked) lock[id] = 1;
  return { visible, locked: lock };
}

describe('display state', () => {
  it('works each bit out from the flags, the layer rows and the selection', () => {
    const state = emptyState(6);
    state.flags.set([0, FLAG_HIDDEN, FLAG_DELETED, 0, 0, 0]);
    state.layers.set([0, 0, 0, 1, 2, 3]);
    const selected = Uint8Array.from([1, 0, 0, 0, 0, 1]);
    const d = new DisplayState(state, selected, layerDisplay([2], [3]));
    expect([...d.display]).toEqual([DISPLAY_SHOWN | DISPLAY_SELECTED, 0, DISPLAY_DELETED, DISPLAY_SHOWN, 0, DISPLAY_SHOWN | DISPLAY_LOCKED | DISPLAY_SELECTED]);
    expect(d.shown).toBe(3);
    expect([0, 1, 3, 4, 5].map(d.selectable)).toEqual([true, false, true, false, false]);
    expect([...d.gaussiansInLayers([0, 3])]).toEqual([0, 1, 2, 5]);
  });

  it('sends changes while they are fewer than the scene, and the whole state once the log no longer reaches back', () => {
    const count = 100;
    const state = emptyState(count);
    const d = new DisplayState(state, new Uint8Array(count), layerDisplay());
    state.flags[4] = FLAG_DELETED;
    d.refresh([Uint32Array.from([4])]);
    state.flags[2] = FLAG_DELETED;
    d.refresh([Uint32Array.from([2, 4])]);
    expect(d.version).toBe(2);
    expect(d.shown).toBe(98);
    const changes = d.frame(0);
    expect(changes.kind).toBe('changes');
    expect([...changes.indices!]).toEqual([2, 4]);
    expect([...changes.display]).toEqual([DISPLAY_DELETED, DISPLAY_DELETED]);
    expect([...d.frame(1).indices!]).toEqual([2, 4]);
    // More than 3/7 of the scene changed: the whole state is smaller.
    d.refresh([Uint32Array.from({ length: 50 }, (_, i) => i + 10)]);
    expect(d.frame(2).kind).toBe('whole');
    expect(d.frame(0).kind).toBe('whole');
    // The log keeps at most one entry per Gaussian: after 20 more small changes (113 entries), the
    // oldest three versions are forgotten, so only viewports at version 3 or later get changes.
    for (let k = 0; k < 20; k++) d.refresh([Uint32Array.from([7, 8, 9])]);
    expect(d.frame(2).kind).toBe('whole');
    expect(d.frame(3)).toMatchObject({ kind: 'changes', version: 23, indices: Uint32Array.from([7, 8, 9]) });
    d.refresh([]);
    expect(d.version).toBe(23);
  });
});
