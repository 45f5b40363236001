import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeCheckpoint, type CheckpointMeta } from '../project/checkpoints.ts';
import { FeatureColorCache, pcaColors } from './feature-colors.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function projectDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'saga-feature-colors-'));
  dirs.push(d);
  return d;
}

const COUNT = 400;
const DIM = 8;
const meta = (iteration: number): CheckpointMeta => ({
  format: 'saga-training-checkpoint', version: 1, iteration, iterations: 1000, count: COUNT, dim: DIM, seed: 1, masksKey: 'k', options: {}, createdAt: '2026-01-01T00:00:00Z',
});

/**
 * Four groups of Gaussians (row i in group i % 4) with one feature each, plus a little noise: four
 * points span three principal axes, so no colour channel is left to stretch the noise alone.
 */
function groupedFeatures(shift = 0): Float32Array {
  const f = new Float32Array(COUNT * DIM);
  for (let i = 0; i < COUNT; i++) {
    const group = i % 4;
    for (let c = 0; c < DIM; c++) f[i * DIM + c] = (c === group + shift ? 1 : 0) + 0.01 * Math.sin(i * 7 + c);
  }
  return f;
}

const colourOf = (rgb: Uint8Array, i: number) => [rgb[i * 3]!, rgb[i * 3 + 1]!, rgb[i * 3 + 2]!];
const distance = (a: number[], b: number[]) => Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!);

describe('feature colours', () => {
  it('gives Gaussians with one feature one colour and other features clearly other colours', () => {
    const rgb = pcaColors(groupedFeatures(), COUNT, DIM);
    expect(rgb.length).toBe(COUNT * 3);
    for (let i = 4; i < COUNT; i++) expect(distance(colourOf(rgb, i), colourOf(rgb, i % 4))).toBeLessThan(12);
    for (let a = 0; a < 4; a++) for (let b = a + 1; b < 4; b++) expect(distance(colourOf(rgb, a), colourOf(rgb, b))).toBeGreaterThan(100);
  });

  it('reads the newest checkpoint once, until a newer one is written', async () => {
    const dir = projectDir();
    const cache = new FeatureColorCache();
    await writeCheckpoint(dir, meta(100), { features: groupedFeatures() });
    const first = cache.colors(dir, COUNT);
    expect(first.iteration).toBe(100);
    expect(first.iterations).toBe(1000);
    expect(cache.colors(dir, COUNT)).toBe(first);

    await writeCheckpoint(dir, meta(200), { features: groupedFeatures(3) });
    const second = cache.colors(dir, COUNT);
    expect(second.iteration).toBe(200);
    expect(second).not.toBe(first);
  });

  it('says to train first when there is no checkpoint, or none for this scene', async () => {
    const dir = projectDir();
    const cache = new FeatureColorCache();
    expect(() => cache.colors(dir, COUNT)).toThrow(expect.objectContaining({ code: 'FEATURES_MISSING', message: expect.stringMatching(/click Train/) }));
    await writeCheckpoint(dir, meta(100), { features: groupedFeatures() });
    expect(() => cache.colors(dir, COUNT + 1)).toThrow(expect.objectContaining({ code: 'FEATURES_MISSING' }));
  });

  it('falls back to the previous checkpoint when the newest is damaged', async () => {
    const dir = projectDir();
    await writeCheckpoint(dir, meta(100), { features: groupedFeatures() });
    const newest = await writeCheckpoint(dir, meta(200), { features: groupedFeatures(3) });
    const bytes = readFileSync(newest);
    bytes[bytes.length - 2]! ^= 0xff;
    writeFileSync(newest, bytes);
    expect(new FeatureColorCache().colors(dir, COUNT).iteration).toBe(100);
  });
});
