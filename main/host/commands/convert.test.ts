import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENES, sharedScene } from '../../../e2e/fixtures.ts';
import { main } from '../cli.ts';
import type { CliIO } from '../command.ts';
import { readScene } from '../../scene/io.ts';
import { parsePlyHeader } from '../../scene/ply-header.ts';

function capture(): CliIO & { out: string; err: string } {
  const io = { out: '', err: '', stdout: (t: string) => { io.out += t; }, stderr: (t: string) => { io.err += t; } };
  return io;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'saga-convert-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('saga-studio convert', () => {
  it('PLY -> PLY reproduces the float data exactly', async () => {
    const input = sharedScene(SCENES.inria);
    const out = join(dir, 'copy.ply');
    const io = capture();
    expect(await main(['convert', input, out], io), io.err).toBe(0);
    expect(io.out).toMatch(/^Wrote 9,080 Gaussians \(SH degree 3\) to .*copy\.ply as ply in \d+ ms\n$/);
    const a = new Uint8Array(await readFile(input));
    const b = new Uint8Array(await readFile(out));
    expect(Buffer.from(b.subarray(parsePlyHeader(b).headerBytes)).equals(Buffer.from(a.subarray(parsePlyHeader(a).headerBytes)))).toBe(true);
  });

  it('compressed PLY -> PLY -> .splat -> .spz keeps the count and positions', async () => {
    const input = sharedScene(SCENES.guitar);
    const original = await readScene(input);
    let previous = input;
    for (const ext of ['ply', 'splat', 'spz']) {
      const out = join(dir, `guitar.${ext}`);
      const io = capture();
      expect(await main(['convert', previous, out], io), io.err).toBe(0);
      const scene = await readScene(out);
      expect(scene.count).toBe(90854);
      expect(scene.source?.format).toBe(ext);
      let worst = 0;
      for (let i = 0; i < original.positions.length; i++) worst = Math.max(worst, Math.abs(scene.positions[i]! - original.positions[i]!));
      // Exact through PLY and .splat; .spz stores 12 fractional bits.
      expect(worst).toBeLessThanOrEqual(ext === 'spz' ? 0.5 / 4096 + 1e-6 : 0);
      previous = out;
    }
  });

  it('refuses to overwrite without --force, to write onto its input, and unknown output extensions', async () => {
    const input = sharedScene(SCENES.compressedSh3);
    const out = join(dir, 'exists.ply');
    await writeFile(out, 'keep me');
    const cases: [string[], number, string][] = [
      [['convert', input, out], 2, 'already exists. Pass --force'],
      [['convert', input, input], 2, 'different file from the input'],
      [['convert', input, join(dir, 'x.obj')], 1, "cannot write '.obj' files"],
      [['convert', input], 2, 'expected an input and an output file'],
      [['convert', join(dir, 'missing.ply'), join(dir, 'y.ply')], 1, 'no such file'],
      [['convert', input, join(dir, 'nofolder', 'y.ply')], 1, 'its folder does not exist'],
    ];
    for (const [args, code, text] of cases) {
      const io = capture();
      expect(await main(args, io), args.join(' ')).toBe(code);
      expect(io.err.trim().split('\n')).toHaveLength(1);
      expect(io.err).toContain(text);
    }
    expect(await readFile(out, 'utf8')).toBe('keep me');
    const io = capture();
    expect(await main(['convert', input, out, '--force'], io)).toBe(0);
    expect((await readScene(out)).count).toBe(64);
    expect((await readdir(dir)).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('--help explains formats, atomic output and options', async () => {
    const io = capture();
    expect(await main(['convert', '-h'], io)).toBe(0);
    for (const part of ['Usage: saga-studio convert <input> <output>', '.splat', '.spz', '--force', 'temporary file', 'Exit status']) expect(io.out).toContain(part);
  });
});
