import { describe, expect, it } from 'vitest';
import { Selection, type SelectionInput } from './selection.ts';

const bytes = (...on: number[]): SelectionInput => ({ bytes: Uint8Array.from({ length: 10 }, (_, i) => (on.includes(i) ? 7 : 0)) });
const all = () => true;

function bits(count: number, ...on: number[]): SelectionInput {
  const b = new Uint8Array(Math.ceil(count / 8));
  for (const i of on) b[i >> 3]! |= 1 << (i & 7);
  return { bits: b };
}

describe('the current selection', () => {
  it('replaces, adds, subtracts and intersects, reporting what flipped', () => {
    const s = new Selection(10);
    expect([...s.combine('replace', bytes(1, 2, 3), all)]).toEqual([1, 2, 3]);
    expect([...s.combine('add', bytes(3, 4), all)]).toEqual([4]);
    expect(s.count).toBe(4);
    expect([...s.combine('subtract', bytes(1, 9), all)]).toEqual([1]);
    expect([...s.indices()]).toEqual([2, 3, 4]);
    expect([...s.combine('intersect', bytes(3, 4, 5), all)]).toEqual([2]);
    expect([...s.indices()]).toEqual([3, 4]);
    expect([...s.combine('replace', bytes(0), all)]).toEqual([0, 3, 4]);
    expect(s.count).toBe(1);
  });

  it('reads bitsets least significant bit first, including a last partial byte', () => {
    const s = new Selection(11);
    s.combine('replace', bits(11, 0, 7, 8, 10), all);
    expect([...s.indices()]).toEqual([0, 7, 8, 10]);
    expect(() => s.combine('add', { bits: new Uint8Array(1) }, all)).toThrow(/bitset of 1 bytes/);
    expect(() => s.combine('add', { bytes: new Uint8Array(10) }, all)).toThrow(/10 bytes/);
  });

  it('never selects what is not selectable, inverts within it, and drops what stops being selectable', () => {
    const s = new Selection(10);
    const even = (i: number) => i % 2 === 0;
    s.combine('replace', bytes(1, 2, 3, 4), even);
    expect([...s.indices()]).toEqual([2, 4]);
    s.invert(even);
    expect([...s.indices()]).toEqual([0, 6, 8]);
    expect([...s.restrict((i) => i !== 6)]).toEqual([6]);
    expect(s.count).toBe(2);
    expect([...s.clear()]).toEqual([0, 8]);
    expect(s.count).toBe(0);
    expect([...s.mask]).toEqual(new Array(10).fill(0));
  });
});
