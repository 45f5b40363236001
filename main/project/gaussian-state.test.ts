import { describe, expect, it } from 'vitest';
import { SagaError } from '../contract/errors.ts';
import { FLAG_DELETED, FLAG_HIDDEN, applyChange, changeFor, decodeChange, decodeRunsInto, emptyState, encodeChange, encodeRuns, indicesWhere } from './gaussian-state.ts';
import { mulberry32 as rng } from '../common/random.ts';


describe('run-length state encoding', () => {
  it('round-trips random u8 and u16 channels', () => {
    const r = rng(7);
    for (const len of [0, 1, 2, 127, 128, 1000]) {
      const flags = Uint8Array.from({ length: len }, () => (r() < 0.3 ? Math.floor(r() * 4) : 0));
      expect(decodeRunsInto(encodeRuns(flags), new Uint8Array(len))).toEqual(flags);
      const layers = Uint16Array.from({ length: len }, () => (r() < 0.5 ? Math.floor(r() * 65536) : 0));
      expect(decodeRunsInto(encodeRuns(layers), new Uint16Array(len))).toEqual(layers);
    }
  });

  it('keeps a million-Gaussian channel with a few layers tiny', () => {
    const layers = new Uint16Array(1_000_000);
    layers.fill(1, 10_000, 250_000);
    layers.fill(2, 600_000, 610_000);
    const bytes = encodeRuns(layers);
    expect(bytes.length).toBeLessThan(32);
    const back = decodeRunsInto(bytes, new Uint16Array(1_000_000));
    // Compared by hand: deep equality on a million elements takes seconds in vitest.
    let mismatches = 0;
    for (let i = 0; i < layers.length; i++) if (back[i] !== layers[i]) mismatches++;
    expect(mismatches).toBe(0);
  });

  it('rejects damaged data with PROJECT_CORRUPT', () => {
    const bytes = encodeRuns(Uint8Array.from([1, 1, 2, 2, 2]));
    for (const bad of [bytes.subarray(0, bytes.length - 1), Uint8Array.from([...bytes, 1, 0]), Uint8Array.from([0, 1])]) {
      expect(() => decodeRunsInto(bad, new Uint8Array(5))).toThrow(SagaError);
    }
    expect(() => decodeRunsInto(Uint8Array.from([5, 0x80, 0x02]), new Uint8Array(5))).toThrow(/damaged/);
  });
});

function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

describe('sparse state changes', () => {
  it('lists only the Gaussians an update changes, and applying it twice restores the state', () => {
    const state = emptyState(8);
    state.flags.set([0, FLAG_DELETED, 0, FLAG_HIDDEN, 0, 0, 0, 0]);
    state.layers.set([0, 0, 3, 3, 0, 0, 5, 0]);
    const before = { flags: state.flags.slice(), layers: state.layers.slice() };
    // Delete 1..3 and move them to layer 3: Gaussian 1 is deleted already but changes layer; 2 only gets deleted.
    const change = changeFor(state, Uint32Array.from([1, 2, 3]), { setFlags: FLAG_DELETED, layer: 3 });
    expect([...change.indices]).toEqual([1, 2, 3]);
    expect([...change.flags]).toEqual([0, FLAG_DELETED, FLAG_DELETED]);
    expect([...change.layers]).toEqual([3, 0, 0]);
    // Moving Gaussians to the layer they are in changes nothing.
    expect(changeFor(state, Uint32Array.from([2, 3]), { layer: 3 }).indices).toHaveLength(0);
    applyChange(state, change);
    expect([...state.flags]).toEqual([0, FLAG_DELETED, FLAG_DELETED, FLAG_HIDDEN | FLAG_DELETED, 0, 0, 0, 0]);
    expect([...state.layers]).toEqual([0, 3, 3, 3, 0, 0, 5, 0]);
    applyChange(state, change);
    expect(state).toEqual(before);
  });

  it('round-trips changes at rest, scattered or in runs, and stays small for an object in runs', () => {
    const r = rng(11);
    const count = 200_000;
    for (const density of [0.001, 0.3, 1]) {
      const indices = indicesWhere(count, () => r() < density);
      const change = {
        indices,
        flags: Uint8Array.from(indices, () => (r() < 0.5 ? FLAG_DELETED : 0)),
        layers: Uint16Array.from(indices, () => Math.floor(r() * 3)),
      };
      const back = decodeChange(encodeChange(change), count);
      // Compared as bytes: deep equality on 200k elements takes seconds in vitest.
      for (const k of ['indices', 'flags', 'layers'] as const) expect(sameBytes(back[k], change[k])).toBe(true);
    }
    // 100k Gaussians in a few runs, all deleted: a few dozen bytes.
    const block = indicesWhere(count, (i) => (i >= 1000 && i < 60_000) || (i >= 100_000 && i < 141_000));
    const bytes = encodeChange({ indices: block, flags: new Uint8Array(block.length).fill(FLAG_DELETED), layers: new Uint16Array(block.length) });
    expect(bytes.length).toBeLessThan(40);
  });

  it('rejects changes that name Gaussians outside the scene or are cut short', () => {
    const change = { indices: Uint32Array.from([3, 4, 9]), flags: Uint8Array.from([2, 2, 2]), layers: new Uint16Array(3) };
    const bytes = encodeChange(change);
    expect(() => decodeChange(bytes, 9)).toThrow(/outside the scene/);
    expect(() => decodeChange(bytes.subarray(0, bytes.length - 1), 10)).toThrow(SagaError);
    expect(() => decodeChange(Uint8Array.from([...bytes, 0]), 10)).toThrow(/trailing/);
  });
});
