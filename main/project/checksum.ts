/** sha256 of a file, streamed (scenes reach gigabytes), with progress and cancellation. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { JobProgress } from '../contract/api.ts';
import { SagaError } from '../contract/errors.ts';

export interface ChecksumOptions {
  signal?: AbortSignal;
  onProgress?: (progress: JobProgress) => void;
}

export async function sha256File(path: string, options: ChecksumOptions = {}): Promise<string> {
  let total: number;
  try {
    total = (await stat(path)).size;
  } catch (e) {
    const code = e instanceof Error && 'code' in e ? String(e.code) : '';
    if (code === 'ENOENT') throw new SagaError('FILE_NOT_FOUND', `No such file: ${path}. Check the path.`, { path });
    throw new SagaError('FILE_UNREADABLE', `Cannot read ${path}: ${e instanceof Error ? e.message : String(e)}.`, { path }, { cause: e });
  }
  const hash = createHash('sha256');
  let done = 0;
  try {
    const stream = createReadStream(path, { highWaterMark: 1 << 20, signal: options.signal });
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      hash.update(chunk);
      done += chunk.length;
      options.onProgress?.({ stage: 'checksum', done, total });
    }
  } catch (e) {
    if (options.signal?.aborted) throw new SagaError('CANCELLED', 'Checking the scene file was cancelled.');
    throw new SagaError('FILE_UNREADABLE', `Cannot read ${path}: ${e instanceof Error ? e.message : String(e)}.`, { path }, { cause: e });
  }
  return hash.digest('hex');
}
