/**
 * Receives POST upload bodies (browser mode): streams them to <uploadsDir>/<random>/<name> via a
 * temporary name, so a dropped or stalled connection leaves no partial scene, and refuses bodies
 * over the limit.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { basename, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { atomicTempPath } from '../../common/atomic-write.ts';
import type { UploadResult } from '../../contract/upload.ts';
import { SagaError } from '../../contract/errors.ts';

/** 8 GiB: larger than any scene the app can hold (see DEFAULT_MAX_SPLATS). */
export const DEFAULT_MAX_UPLOAD_BYTES = 8 * 1024 ** 3;

/** A file name safe on every OS, keeping the extension the scene readers look at. */
export function safeUploadName(name: string): string {
  const base = basename(name.replaceAll('\\', '/')).replace(/[^\w.\- ]+/g, '_').replace(/^\.+/, '').slice(-200);
  if (base === '' || base === '.' || base === '..') {
    throw new SagaError('BAD_ARGUMENT', `'${name}' is not a usable file name. Rename the file and drop it again.`, { name });
  }
  return base;
}

function secondsText(ms: number): string {
  return `${ms < 10_000 ? (ms / 1000).toFixed(1) : Math.round(ms / 1000)} s`;
}

export interface UploadLimits {
  /** Largest body accepted (default {@link DEFAULT_MAX_UPLOAD_BYTES}). */
  maxBytes?: number;
  /** Drop the upload when no bytes arrive for this long (default: no limit). */
  idleMs?: number;
}

export async function receiveUpload(req: IncomingMessage, uploadsDir: string, name: string, limits: UploadLimits = {}): Promise<UploadResult> {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  const fileName = safeUploadName(name);
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw new SagaError('TOO_LARGE', `${fileName} is ${declared} bytes; uploads are limited to ${maxBytes}. Copy the file to the server and open it by path.`, { bytes: declared, max: maxBytes });
  }
  const dir = join(uploadsDir, randomBytes(8).toString('hex'));
  await mkdir(dir, { recursive: true });
  const final = join(dir, fileName);
  // Streamed, so not writeFileAtomic: a dropped connection is reported as a failed receive, not a bad location.
  const tmp = atomicTempPath(final);
  let bytes = 0;
  // A client that stops sending (a sleeping laptop, a stalled tunnel) would hold the socket and the
  // partial file for ever: after `idleMs` without data the upload fails and both are released.
  let idle: ReturnType<typeof setTimeout> | undefined;
  const armIdle = () => {
    if (limits.idleMs === undefined) return;
    clearTimeout(idle);
    idle = setTimeout(stalled, limits.idleMs);
  };
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      armIdle();
      bytes += chunk.length;
      if (bytes > maxBytes) callback(new SagaError('TOO_LARGE', `${fileName} exceeds the upload limit of ${maxBytes} bytes. Copy the file to the server and open it by path.`, { max: maxBytes }));
      else callback(null, chunk);
    },
  });
  // The request is piped by hand rather than through pipeline(), which would destroy it (and with it
  // the socket) on any failure: a refusal (too large, stalled) must still be able to answer.
  const fail = (e: Error) => {
    req.unpipe(limit);
    limit.destroy(e);
  };
  const stalled = () => fail(new SagaError('DISCONNECTED', `The upload of ${fileName} stalled (nothing received for ${secondsText(limits.idleMs ?? 0)}). Check the connection and drop the file again.`, { name: fileName }));
  req.once('error', fail);
  req.once('close', () => {
    if (!req.complete) fail(new Error('the connection closed before the whole file arrived'));
  });
  req.pipe(limit);
  armIdle();
  try {
    await pipeline(limit, createWriteStream(tmp, { flags: 'wx' }));
    if (bytes === 0) throw new SagaError('EMPTY_SCENE', `${fileName} is empty (0 bytes). Choose a trained scene file.`, { name: fileName });
    await rename(tmp, final);
  } catch (e) {
    clearTimeout(idle);
    await rm(dir, { recursive: true, force: true });
    if (e instanceof SagaError) throw e;
    throw new SagaError('WRITE_FAILED', `Could not receive ${fileName}: ${e instanceof Error ? e.message : String(e)}. Try again.`, { name: fileName }, { cause: e });
  }
  clearTimeout(idle);
  return { path: final, bytes };
}
