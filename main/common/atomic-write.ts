/**
 * Atomic file output: everything is written to `<out>.tmp-<random>` and renamed over the target
 * only when complete, so a failed or cancelled write never leaves a partial scene behind.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { SagaError } from '../contract/errors.ts';

function writeFailed(path: string, e: unknown): SagaError {
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
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
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

/** Writes all of `bytes` (FileHandle.write may write less than asked). */
export async function writeAll(file: FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await file.write(bytes, done, bytes.length - done);
    if (bytesWritten <= 0) throw new Error('short write');
    done += bytesWritten;
  }
}
