import { describe, expect, it } from 'vitest';
import { DISPLAY_SELECTED, DISPLAY_SHOWN, decodeDisplayFrame, encodeDisplayFrame } from './display-state.ts';

describe('display state frames', () => {
  it('round-trips a whole frame with an odd count (the display bytes start 4-byte aligned)', () => {
    const layers = Uint16Array.from([0, 3, 3, 65535, 1]);
    const display = Uint8Array.from([DISPLAY_SHOWN, 0, DISPLAY_SHOWN | DISPLAY_SELECTED, 8, 4]);
    const bytes = encodeDisplayFrame({ kind: 'whole', count: 5, version: 42, layers, display });
    expect(bytes.length).toBe(24 + 12 + 5);
    const back = decodeDisplayFrame(bytes);
    expect(back).toMatchObject({ kind: 'whole', count: 5, version: 42 });
    expect(back.indices).toBeUndefined();
    expect([...back.layers]).toEqual([...layers]);
    expect([...back.display]).toEqual([...display]);
  });

  it('round-trips changes, also from bytes that do not start 4-byte aligned (as a binary RPC frame can)', () => {
    const frame = { kind: 'changes' as const, count: 1_000_000, version: 7, indices: Uint32Array.from([5, 999_999]), layers: Uint16Array.from([2, 0]), display: Uint8Array.from([1, 2]) };
    const bytes = encodeDisplayFrame(frame);
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const back = decodeDisplayFrame(shifted.subarray(1));
    expect(back).toMatchObject({ kind: 'changes', count: 1_000_000, version: 7 });
    expect([...back.indices!]).toEqual([5, 999_999]);
    expect([...back.layers]).toEqual([2, 0]);
    expect([...back.display]).toEqual([1, 2]);
  });

  it('refuses bytes that are not a frame', () => {
    const bytes = encodeDisplayFrame({ kind: 'whole', count: 2, version: 1, layers: new Uint16Array(2), display: new Uint8Array(2) });
    expect(() => decodeDisplayFrame(bytes.subarray(0, 10))).toThrow(/too short/);
    expect(() => decodeDisplayFrame(bytes.subarray(0, bytes.length - 1))).toThrow(/wrong length/);
    const other = bytes.slice();
    other[0] = 0;
    expect(() => decodeDisplayFrame(other)).toThrow(/unknown format/);
  });
});
