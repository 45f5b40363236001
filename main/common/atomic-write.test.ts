import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { isSagaError } from '../contract/errors.ts';
import { atomicTempPath, writeDataAtomic, writeFileAtomicSync } from './atomic-write.ts';

const dir = mkdtempSync(join(tmpdir(), 'saga-atomic-'));

describe('atomic writes', () => {
  it('names temporary files by process, thread and a random suffix', () => {
    const a = atomicTempPath(join(dir, 'x.bin'));
    const b = atomicTempPath(join(dir, 'x.bin'));
    expect(a).toContain(`.tmp-${process.pid}-${threadId}-`);
    expect(a).not.toBe(b);
  });

  it('replaces the target whole, sync and async, and leaves no temporary file', async () => {
    const path = join(dir, 'data.txt');
    writeFileSync(path, 'old');
    writeFileAtomicSync(path, 'sync text');
    expect(readFileSync(path, 'utf8')).toBe('sync text');
    await writeDataAtomic(path, new Uint8Array([104, 105]));
    expect(readFileSync(path, 'utf8')).toBe('hi');
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('raises WRITE_FAILED naming the path when the folder is missing', async () => {
    const path = join(dir, 'missing', 'f.txt');
    let syncError: unknown;
    try { writeFileAtomicSync(path, 'x'); } catch (e) { syncError = e; }
    expect(isSagaError(syncError, 'WRITE_FAILED')).toBe(true);
    expect((syncError as Error).message).toContain(path);
    await expect(writeDataAtomic(path, 'x')).rejects.toMatchObject({ code: 'WRITE_FAILED', message: expect.stringContaining(path) });
  });
});
