import { describe, expect, it } from 'vitest';
import { DISPLAY_DELETED, DISPLAY_SELECTED, DISPLAY_SHOWN, decodeDisplayFrame, encodeDisplayFrame, type DisplayFrame } from '../../main/contract/display-state.ts';
import { DisplayMirror, mergeChanged } from './display-mirror.ts';

const S = DISPLAY_SHOWN;
const whole = (display: number[], layers = display.map(() => 0), version = 3): DisplayFrame => ({ kind: 'whole', count: display.length, version, layers: Uint16Array.from(layers), display: Uint8Array.from(display) });

/** A bitset of `n` Gaussians with the given ones set. */
function bitset(n: number, selected: number[]): Uint8Array {
  const bits = new Uint8Array(Math.ceil(n / 8));
  for (const i of selected) bits[i >> 3]! |= 1 << (i & 7);
  return bits;
}

describe('DisplayMirror', () => {
  it('starts from a whole frame (copied: the frame may view a reused buffer) and counts what is shown', () => {
    const frame = whole([S, S, DISPLAY_DELETED, 0, S | DISPLAY_SELECTED]);
    const mirror = new DisplayMirror(decodeDisplayFrame(encodeDisplayFrame(frame)));
    frame.display[0] = 0;
    expect(mirror.version).toBe(3);
    expect(mirror.shown()).toBe(3);
    expect(() => new DisplayMirror({ ...frame, kind: 'changes', indices: new Uint32Array(5) })).toThrow(/whole frame/);
  });

  it('applies changes to their Gaussians only, and a whole frame to all', () => {
    const mirror = new DisplayMirror(whole([S, S, S, S]));
    const changed = mirror.apply({ kind: 'changes', count: 4, version: 5, indices: Uint32Array.of(1, 3), layers: Uint16Array.of(7, 0), display: Uint8Array.of(S | DISPLAY_SELECTED, DISPLAY_DELETED) });
    expect(changed).toEqual(Uint32Array.of(1, 3));
    expect([...mirror.display]).toEqual([S, S | DISPLAY_SELECTED, S, DISPLAY_DELETED]);
    expect([...mirror.layers]).toEqual([0, 7, 0, 0]);
    expect(mirror.version).toBe(5);
    expect(mirror.apply(whole([0, 0, 0, 0], [1, 1, 1, 1], 9))).toBe('all');
    expect(mirror.shown()).toBe(0);
    expect(mirror.version).toBe(9);
    expect(() => mirror.apply(whole([S]))).toThrow(/for 1 Gaussians, but the viewport shows 4/);
  });

  it('takes a selection bitset: flips only what changed, and is current when the selection was the only step', () => {
    const n = 21;
    const mirror = new DisplayMirror(whole(Array(n).fill(S), undefined, 10));
    const first = mirror.applySelection(bitset(n, [0, 9, 20]), 11);
    expect([...first.flipped]).toEqual([0, 9, 20]);
    expect(first.current).toBe(true);
    expect(mirror.version).toBe(11);
    const second = mirror.applySelection(bitset(n, [9, 10]), 12);
    expect([...second.flipped]).toEqual([0, 10, 20]);
    expect([...mirror.display].map((d, i) => (d & DISPLAY_SELECTED ? i : -1)).filter((i) => i >= 0)).toEqual([9, 10]);
    // The same selection again changes nothing, and the backend's version did not move either.
    expect(mirror.applySelection(bitset(n, [9, 10]), 12)).toEqual({ flipped: new Uint32Array(0), current: true });
  });

  it('is not current when the backend moved on meanwhile: the version stays, so the next fetch brings the rest', () => {
    const mirror = new DisplayMirror(whole([S, S, S, S, S, S, S, S, S], undefined, 4));
    const r = mirror.applySelection(bitset(9, [8]), 7);
    expect([...r.flipped]).toEqual([8]);
    expect(r.current).toBe(false);
    expect(mirror.version).toBe(4);
    expect(() => mirror.applySelection(new Uint8Array(1), 8)).toThrow(/8 bits came for 9 Gaussians/);
  });
});

describe('mergeChanged', () => {
  it('joins two ascending lists into one without repeats, and anything with all into all', () => {
    expect(mergeChanged(Uint32Array.of(1, 4, 9), Uint32Array.of(0, 4, 5, 12))).toEqual(Uint32Array.of(0, 1, 4, 5, 9, 12));
    expect(mergeChanged(Uint32Array.of(), Uint32Array.of(3))).toEqual(Uint32Array.of(3));
    expect(mergeChanged(Uint32Array.of(2), Uint32Array.of())).toEqual(Uint32Array.of(2));
    expect(mergeChanged('all', Uint32Array.of(2))).toBe('all');
    expect(mergeChanged(Uint32Array.of(2), 'all')).toBe('all');
  });
});
