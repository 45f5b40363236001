/**
 * Per-Gaussian state, as pure functions on typed arrays: the two channels every project keeps
 * (flags and layer id), the sparse change one edit makes to them, and their encodings at rest.
 *
 * - A channel at rest is run-length encoded with LEB128 varints: repeated (run length, value)
 *   pairs, run lengths >= 1 and summing to the channel length. A channel of a million Gaussians
 *   that is mostly zero (few are hidden, deleted or in a layer) shrinks to bytes.
 * - A change lists the Gaussians it touches (ascending) with the XOR of before and after per
 *   channel, so the same change applied again undoes it and once more redoes it (SuperSplat's
 *   TOGGLE op, kept per Gaussian). Its cost is the number of Gaussians touched, never the scene.
 */
import { SagaError } from '../contract/errors.ts';

/** Bit 0 of the flags channel: hidden on its own (independent of its layer's visibility). */
export const FLAG_HIDDEN = 1;
/** Bit 1 of the flags channel: deleted (not shown, not saved, kept for undo). */
export const FLAG_DELETED = 2;

/** Layer id 0 in the layer channel: the Gaussian is in no layer. */
export const NO_LAYER = 0;

export type StateArray = Uint8Array | Uint16Array;

/** The state of every Gaussian of a scene; row i is scene row i. */
export interface GaussianState {
  flags: Uint8Array;
  layers: Uint16Array;
}

export function emptyState(count: number): GaussianState {
  return { flags: new Uint8Array(count), layers: new Uint16Array(count) };
}

/** What one edit changes: the Gaussians touched (ascending, unique) and XOR deltas for each. */
export interface StateChange {
  indices: Uint32Array;
  flags: Uint8Array;
  layers: Uint16Array;
}

export function emptyChange(): StateChange {
  return { indices: new Uint32Array(0), flags: new Uint8Array(0), layers: new Uint16Array(0) };
}

function corrupt(why: string): SagaError {
  return new SagaError('PROJECT_CORRUPT', `The project's per-Gaussian state is damaged (${why}). Restore the project folder from a backup.`);
}

/** A growable byte buffer for varint output: one allocation per doubling, not one per byte. */
class ByteWriter {
  private bytes: Uint8Array;
  length = 0;

  constructor(capacity: number) {
    this.bytes = new Uint8Array(Math.max(16, capacity));
  }

  varint(value: number): void {
    if (this.length + 8 > this.bytes.length) {
      const grown = new Uint8Array(this.bytes.length * 2);
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    let v = value;
    while (v >= 0x80) {
      this.bytes[this.length++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.bytes[this.length++] = v;
  }

  result(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

class ByteReader {
  pos = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.bytes.length;
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.bytes.length) throw corrupt('truncated run');
      const b = this.bytes[this.pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
      if (scale > 2 ** 35) throw corrupt('varint too long');
    }
  }
}

export function encodeRuns(values: StateArray): Uint8Array {
  const out = new ByteWriter(64);
  const n = values.length;
  let i = 0;
  while (i < n) {
    const v = values[i]!;
    let j = i + 1;
    while (j < n && values[j] === v) j++;
    out.varint(j - i);
    out.varint(v);
    i = j;
  }
  return out.result();
}

/** Decode into `target` (its length is the channel length). Throws PROJECT_CORRUPT on malformed data. */
export function decodeRunsInto<T extends StateArray>(bytes: Uint8Array, target: T): T {
  const max = target instanceof Uint8Array ? 0xff : 0xffff;
  const reader = new ByteReader(bytes);
  let filled = 0;
  while (!reader.done) {
    const length = reader.varint();
    const value = reader.varint();
    if (length === 0 || filled + length > target.length) throw corrupt('run past the end');
    if (value > max) throw corrupt('value out of range');
    target.fill(value, filled, filled + length);
    filled += length;
  }
  if (filled !== target.length) throw corrupt(`holds ${filled} of ${target.length} Gaussians`);
  return target;
}

/** What to set on each touched Gaussian: flag bits to raise and/or the layer to put it in. */
export interface StateUpdate {
  setFlags?: number;
  layer?: number;
}

/**
 * The change that applies `update` to the Gaussians at `indices` (ascending) of `state`. Gaussians
 * the update leaves as they are are not listed, so an edit that changes nothing is an empty change.
 */
export function changeFor(state: GaussianState, indices: Uint32Array, update: StateUpdate): StateChange {
  const setFlags = update.setFlags ?? 0;
  const layer = update.layer;
  const out = new Uint32Array(indices.length);
  const flags = new Uint8Array(indices.length);
  const layers = new Uint16Array(indices.length);
  let k = 0;
  for (let j = 0; j < indices.length; j++) {
    const i = indices[j]!;
    const f = state.flags[i]!;
    const l = state.layers[i]!;
    const df = f ^ (f | setFlags);
    const dl = layer === undefined ? 0 : l ^ layer;
    if (df === 0 && dl === 0) continue;
    out[k] = i;
    flags[k] = df;
    layers[k] = dl;
    k++;
  }
  return { indices: out.slice(0, k), flags: flags.slice(0, k), layers: layers.slice(0, k) };
}

/** Applies (or, applied again, undoes) `change` in place. */
export function applyChange(state: GaussianState, change: StateChange): void {
  const { indices, flags, layers } = change;
  const sf = state.flags;
  const sl = state.layers;
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    sf[i] = sf[i]! ^ flags[k]!;
    sl[i] = sl[i]! ^ layers[k]!;
  }
}

/**
 * A change at rest: the indices as (gap, run length) varint pairs (an object's Gaussians are often
 * neighbours in the file, so runs are long), then each channel's XORs run-length encoded, each
 * section prefixed by its byte length.
 */
export function encodeChange(change: StateChange): Uint8Array {
  const idx = new ByteWriter(16 + change.indices.length);
  const { indices } = change;
  let next = 0;
  let j = 0;
  while (j < indices.length) {
    const start = indices[j]!;
    let end = j + 1;
    while (end < indices.length && indices[end] === indices[end - 1]! + 1) end++;
    idx.varint(start - next);
    idx.varint(end - j);
    next = start + (end - j);
    j = end;
  }
  const sections = [idx.result(), encodeRuns(change.flags), encodeRuns(change.layers)];
  const head = new ByteWriter(32);
  head.varint(indices.length);
  for (const s of sections) head.varint(s.length);
  const header = head.result();
  const out = new Uint8Array(header.length + sections.reduce((n, s) => n + s.length, 0));
  out.set(header, 0);
  let pos = header.length;
  for (const s of sections) {
    out.set(s, pos);
    pos += s.length;
  }
  return out;
}

/** Decodes {@link encodeChange}; every index must fall in a scene of `count` Gaussians. */
export function decodeChange(bytes: Uint8Array, count: number): StateChange {
  const head = new ByteReader(bytes);
  const k = head.varint();
  const lengths = [head.varint(), head.varint(), head.varint()];
  if (k > count) throw corrupt(`an edit touches ${k} of ${count} Gaussians`);
  let pos = head.pos;
  const section = (n: number): Uint8Array => {
    if (pos + n > bytes.length) throw corrupt('truncated edit');
    const s = bytes.subarray(pos, pos + n);
    pos += n;
    return s;
  };
  const idxBytes = section(lengths[0]!);
  const flagBytes = section(lengths[1]!);
  const layerBytes = section(lengths[2]!);
  if (pos !== bytes.length) throw corrupt('trailing bytes after an edit');
  const indices = new Uint32Array(k);
  const reader = new ByteReader(idxBytes);
  let next = 0;
  let filled = 0;
  while (!reader.done) {
    const start = next + reader.varint();
    const run = reader.varint();
    if (run === 0 || filled + run > k || start + run > count) throw corrupt('an edit names Gaussians outside the scene');
    for (let r = 0; r < run; r++) indices[filled++] = start + r;
    next = start + run;
  }
  if (filled !== k) throw corrupt(`an edit lists ${filled} of ${k} Gaussians`);
  return { indices, flags: decodeRunsInto(flagBytes, new Uint8Array(k)), layers: decodeRunsInto(layerBytes, new Uint16Array(k)) };
}

/** The indices `i` (ascending) for which `keep(i)` holds, for i in [0, count). */
export function indicesWhere(count: number, keep: (i: number) => boolean): Uint32Array {
  const out = new Uint32Array(count);
  let k = 0;
  for (let i = 0; i < count; i++) if (keep(i)) out[k++] = i;
  return out.slice(0, k);
}
