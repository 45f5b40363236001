/**
 * Atomic file output, the one implementation for the whole app: everything is written to a
 * temporary name next to the target and renamed over it only when complete, so a failed or
 * cancelled write never leaves a partial file behind.
 */
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { threadId } from 'node:worker_threads';
import { SagaError } from '../contract/errors.ts';

/**
 * A temporary name beside `path`. Unique per process and per worker thread (two workers of one
 * process share a pid), plus a random suffix for concurrent writes of one target in one thread.
 */
export function atomicTempPath(path: string): string {
  return `${path}.tmp-${process.pid}-${threadId}-${randomBytes(4).toString('hex')}`;
}

/** The WRITE_FAILED error for `path`, with the cause in words a user can act on. */
export function writeFailed(path: string, e: unknown): SagaError {
  if (e instanceof SagaError) return e;
  const code = e instanceof Error && 'code' in e ? String(e.code) : '';
  const reason =
    code === 'ENOENT' ? 'its folder does not exist'
    : code === 'EACCES' || code === 'EPERM' ? 'permission denied'
    : code === 'ENOSPC' ? 'the disk is full'
    : code === 'EISDIR' ? 'it is a folder'
    : code === 'EROFS' ? 'the disk is read-only'
    : e instanceof Error ? e.message : String(e);
  return new SagaError('WRITE_FAILED', `Could not write ${path}: ${reason}. Choose another location.`, { path, code }, { cause: e });
}

/** Runs `fill` on a temporary file next to `path`, then renames it into place. */
export async function writeFileAtomic(path: string, fill: (file: FileHandle) => Promise<void>): Promise<void> {
  const tmp = atomicTempPath(path);
  let file: FileHandle | undefined;
  try {
    file = await open(tmp, 'wx');
    await fill(file);
    await file.close();
    file = undefined;
    await rename(tmp, path);
  } catch (e) {
    if (file) await file.close().catch((closeError: unknown) => {
      // The write already failed; the close error adds nothing the user can act on.
      void closeError;
    });
    await unlink(tmp).catch((unlinkError: unknown) => {
      // ENOENT when open() itself failed: nothing to clean up.
      void unlinkError;
    });
    throw writeFailed(path, e);
  }
}

/** Writes `data` (bytes or UTF-8 text) atomically to `path`. */
export async function writeDataAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await writeFileAtomic(path, (file) => writeAll(file, typeof data === 'string' ? Buffer.from(data, 'utf8') : data));
}

/** The synchronous variant, for callers with no event loop to yield to (small manifests, caches). */
export function writeFileAtomicSync(path: string, data: Uint8Array | string): void {
  const tmp = atomicTempPath(path);
  try {
    writeFileSync(tmp, data, { flag: 'wx' });
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw writeFailed(path, e);
  }
}

/** Writes all of `bytes` (FileHandle.write may write less than asked). */
export async function writeAll(file: FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await file.write(bytes, done, bytes.length - done);
    if (bytesWritten <= 0) throw new Error('short write');
    done += bytesWritten;
  }
}
