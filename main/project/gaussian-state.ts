/**
 * Per-Gaussian state at rest: run-length encoding with LEB128 varints, as pure functions on typed
 * arrays. A channel of a million Gaussians that is mostly zero (the usual case: few are hidden,
 * deleted or in a layer) shrinks to bytes; scattered changes cost a few bytes each.
 * Format: repeated (run length, value) pairs, both unsigned varints; run lengths are >= 1 and sum
 * to the channel length.
 */
import { SagaError } from '../contract/errors.ts';

/** Bit 0 of the flags channel. */
export const FLAG_HIDDEN = 1;
/** Bit 1 of the flags channel. */
export const FLAG_DELETED = 2;

export type StateArray = Uint8Array | Uint16Array;

function pushVarint(out: number[], value: number): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

export function encodeRuns(values: StateArray): Uint8Array {
  const out: number[] = [];
  let i = 0;
  while (i < values.length) {
    const v = values[i]!;
    let j = i + 1;
    while (j < values.length && values[j] === v) j++;
    pushVarint(out, j - i);
    pushVarint(out, v);
    i = j;
  }
  return Uint8Array.from(out);
}

/** Decode into `target` (its length is the channel length). Throws PROJECT_CORRUPT on malformed data. */
export function decodeRunsInto(bytes: Uint8Array, target: StateArray): StateArray {
  const max = target instanceof Uint8Array ? 0xff : 0xffff;
  let pos = 0;
  let filled = 0;
  const corrupt = (why: string) => new SagaError('PROJECT_CORRUPT', `The project's per-Gaussian state is damaged (${why}). Restore the project folder from a backup.`);
  const readVarint = (): number => {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (pos >= bytes.length) throw corrupt('truncated run');
      const b = bytes[pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
      if (scale > 2 ** 35) throw corrupt('varint too long');
    }
  };
  while (pos < bytes.length) {
    const length = readVarint();
    const value = readVarint();
    if (length === 0 || filled + length > target.length) throw corrupt('run past the end');
    if (value > max) throw corrupt('value out of range');
    target.fill(value, filled, filled + length);
    filled += length;
  }
  if (filled !== target.length) throw corrupt(`holds ${filled} of ${target.length} Gaussians`);
  return target;
}

/** In-place XOR of `delta` into `state`: applying the same delta twice restores the state. */
export function xorInto(state: StateArray, delta: StateArray): void {
  if (state.length !== delta.length) {
    throw new SagaError('INTERNAL', `State edit for ${delta.length} Gaussians applied to a scene of ${state.length}.`);
  }
  for (let i = 0; i < state.length; i++) state[i] = state[i]! ^ delta[i]!;
}

/** The delta that turns `before` into `after` (and back). */
export function stateDelta<T extends StateArray>(before: T, after: T): T {
  const out = before.slice() as T;
  xorInto(out, after);
  return out;
}
