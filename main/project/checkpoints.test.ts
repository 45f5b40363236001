import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listCheckpoints, loadCheckpoint, readTrainedFeatures, writeCheckpoint, type CheckpointMeta } from './checkpoints.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function project(): string {
  const d = mkdtempSync(join(tmpdir(), 'saga-ckpt-'));
  dirs.push(d);
  return d;
}
const meta = (iteration: number): CheckpointMeta => ({
  format: 'saga-training-checkpoint', version: 1, iteration, iterations: 1000, count: 3, dim: 2, seed: 7, masksKey: 'k', options: {}, createdAt: '2026-01-01T00:00:00Z',
});
const feats = (v: number) => new Float32Array(6).fill(v);

describe('training checkpoints', () => {
  it('keeps the two newest and reads the features of the newest', async () => {
    const dir = project();
    for (const it of [100, 200, 300]) await writeCheckpoint(dir, meta(it), { features: feats(it), moments: new Float32Array(4) });
    expect(listCheckpoints(dir).map((c) => c.iteration)).toEqual([300, 200]);
    const t = readTrainedFeatures(dir, 3)!;
    expect(t.iteration).toBe(300);
    expect(Array.from(t.features)).toEqual(Array(6).fill(300));
    expect(readTrainedFeatures(dir, 4)).toBeUndefined();
  });

  it('skips a damaged newest checkpoint, says why, and falls back to the previous one', async () => {
    const dir = project();
    await writeCheckpoint(dir, meta(100), { features: feats(1) });
    const newest = await writeCheckpoint(dir, meta(200), { features: feats(2) });
    const bytes = readFileSync(newest);
    bytes[bytes.length - 2]! ^= 0xff;
    writeFileSync(newest, bytes);
    const c = loadCheckpoint(dir)!;
    expect(c.meta.iteration).toBe(100);
    expect(c.skipped.map((s) => basename(s.path))).toEqual([basename(newest)]);
    expect(c.skipped[0]!.reason).toMatch(/checksum/);
  });

  it('has no trained features before any checkpoint, and refuses a checkpoint without features', async () => {
    const dir = project();
    expect(readTrainedFeatures(dir)).toBeUndefined();
    await expect(writeCheckpoint(dir, meta(1), { features: new Float32Array(5) })).rejects.toThrow(/3 x 2/);
  });
});
