import { mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isSagaError } from '../contract/errors.ts';
import { openTensorFile, readTensorFile, writeTensorFile } from './tensor-file.ts';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'saga-tensor-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('tensor files', () => {
  it('round-trips named arrays of every dtype and the metadata, bit for bit', async () => {
    const path = join(tempDir(), 'a.bin');
    const f = Float32Array.from({ length: 1001 }, (_, i) => Math.sin(i) * 1e-3);
    f[3] = -0;
    const u = Uint32Array.from({ length: 7 }, (_, i) => 0xffffffff - i);
    const s = Int32Array.from([-5, 0, 5]);
    const b = Uint8Array.from([1, 2, 3]);
    await writeTensorFile(path, { iteration: 42, note: 'x' }, { f, u, s, b, empty: new Float32Array(0) });
    const back = readTensorFile(path);
    expect(back.meta).toEqual({ iteration: 42, note: 'x' });
    expect(Buffer.from((back.arrays.f as Float32Array).buffer).equals(Buffer.from(f.buffer))).toBe(true);
    expect(Array.from(back.arrays.u!)).toEqual(Array.from(u));
    expect(Array.from(back.arrays.s!)).toEqual([-5, 0, 5]);
    expect(back.arrays.b).toBeInstanceOf(Uint8Array);
    expect(back.arrays.empty!.length).toBe(0);
    // Nothing but the file itself is left in the folder (written under a temporary name, renamed).
    expect(readdirSync(join(path, '..'))).toEqual(['a.bin']);
  });

  it('reads one array without the others', async () => {
    const path = join(tempDir(), 'a.bin');
    await writeTensorFile(path, null, { a: new Float32Array([1, 2]), b: new Float32Array([3]) });
    const file = openTensorFile(path);
    try {
      expect(file.arrays.map((a) => a.name)).toEqual(['a', 'b']);
      expect(Array.from(file.read('b')!)).toEqual([3]);
      expect(file.read('c')).toBeUndefined();
    } finally {
      file.close();
    }
  });

  it('reports a flipped byte, a truncated file and a foreign file as damaged', async () => {
    const dir = tempDir();
    const path = join(dir, 'a.bin');
    await writeTensorFile(path, { k: 1 }, { a: Float32Array.from({ length: 64 }, (_, i) => i) });
    const good = readFileSync(path);
    const flipped = Buffer.from(good);
    flipped[flipped.length - 5]! ^= 0x40;
    writeFileSync(path, flipped);
    expect(() => readTensorFile(path)).toThrow(/checksum of 'a'/);
    writeFileSync(path, good);
    truncateSync(path, good.length - 10);
    expect(() => readTensorFile(path)).toThrow(/ends early/);
    writeFileSync(path, 'not a tensor file at all, just text');
    try {
      readTensorFile(path);
      expect.unreachable();
    } catch (e) {
      expect(isSagaError(e, 'PROJECT_CORRUPT')).toBe(true);
    }
    expect(() => readTensorFile(join(dir, 'missing.bin'))).toThrow(/does not exist/);
  });
});
