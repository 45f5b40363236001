import { describe, expect, it } from 'vitest';
import { SagaError } from '../contract/errors.ts';
import { decodeRunsInto, encodeRuns, stateDelta, xorInto } from './gaussian-state.ts';
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

  it('applies a delta forward and back (undo and redo are the same XOR)', () => {
    const before = Uint8Array.from([0, 1, 2, 3, 0]);
    const after = Uint8Array.from([1, 1, 0, 3, 2]);
    const delta = stateDelta(before, after);
    const state = before.slice();
    xorInto(state, delta);
    expect(state).toEqual(after);
    xorInto(state, delta);
    expect(state).toEqual(before);
  });
});
