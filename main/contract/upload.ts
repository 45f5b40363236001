/**
 * Browser mode only: a file dropped on the page has no path the host can open, so the page sends
 * its bytes to POST upload?name=<file name> beside the page (/<token>/upload) and gets back the path the
 * host stored it at, which it then opens like any other (scene.open, project.create). Uploaded
 * files are kept in the host's user-data folder: a project may reference them.
 * No Node imports: the renderer uses this.
 */
import { SagaError, type SagaErrorData } from './errors.ts';

export const UPLOAD_PATH = '/upload';

export interface UploadResult {
  /** Where the host stored the file (absolute, on the host's machine). */
  path: string;
  bytes: number;
}

/**
 * Send `file` to the browser-mode host serving the page at `pageUrl` (http://host/<token>/).
 * Rejects with the host's SagaError.
 */
export async function uploadFile(file: Blob, name: string, pageUrl: string, fetchImpl: typeof fetch = fetch): Promise<UploadResult> {
  const url = new URL(`${UPLOAD_PATH.slice(1)}?name=${encodeURIComponent(name)}`, pageUrl);
  const res = await fetchImpl(url, {
    method: 'POST',
    body: file,
    credentials: 'omit',
    headers: { 'Content-Type': 'application/octet-stream' },
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: a refusal from before the upload handler (401/403 text); reported below.
    body = undefined;
  }
  if (res.ok && typeof body === 'object' && body !== null && typeof (body as UploadResult).path === 'string') return body as UploadResult;
  if (typeof body === 'object' && body !== null && typeof (body as SagaErrorData).code === 'string') throw SagaError.fromJSON(body as SagaErrorData);
  throw new SagaError(res.status === 401 || res.status === 403 ? 'UNAUTHORIZED' : 'INTERNAL', `Uploading ${name} failed (HTTP ${res.status}): ${text.trim().slice(0, 300)}`);
}
