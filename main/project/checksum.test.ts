import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SCENES, sharedScene } from '../../e2e/fixtures.ts';
import type { JobProgress } from '../contract/api.ts';
import { sha256File } from './checksum.ts';

const root = mkdtempSync(join(tmpdir(), 'saga-checksum-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('sha256File', () => {
  it('matches a one-shot hash of the real scene and reports byte progress', async () => {
    const path = sharedScene(SCENES.guitar);
    const progress: JobProgress[] = [];
    const hex = await sha256File(path, { onProgress: (p) => progress.push(p) });
    expect(hex).toBe(createHash('sha256').update(readFileSync(path)).digest('hex'));
    const size = readFileSync(path).length;
    expect(progress.at(-1)).toEqual({ stage: 'checksum', done: size, total: size });
  });

  it('stops with CANCELLED when aborted part way', async () => {
    const big = join(root, 'big.bin');
    writeFileSync(big, '');
    truncateSync(big, 256 * 1024 * 1024); // sparse: costs no disk, 256 chunks to read
    const controller = new AbortController();
    let chunks = 0;
    const run = sha256File(big, {
      signal: controller.signal,
      onProgress: () => {
        if (++chunks === 3) controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(chunks).toBeLessThan(256);
  });

  it('says FILE_NOT_FOUND for a missing file', async () => {
    await expect(sha256File(join(root, 'absent.ply'))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });
});
