/** Turns whatever a failed call or load threw into the sentence and code the error banner shows. */
import type { SagaErrorData } from '../../../main/contract/errors.ts';

export function describeError(e: unknown): SagaErrorData {
  if (typeof e === 'object' && e !== null && 'code' in e && 'message' in e) {
    const { code, message } = e as { code: unknown; message: unknown };
    // Details say what to ask next (a save onto the source scene or an existing file): keep them.
    const details = 'details' in e ? (e as { details: unknown }).details : undefined;
    if (typeof code === 'string' && typeof message === 'string') {
      return { code: code as SagaErrorData['code'], message, ...(isRecord(details) ? { details } : {}) };
    }
  }
  const message = e instanceof Error ? e.message : typeof e === 'string' ? e : 'Something went wrong.';
  return { code: 'INTERNAL', message };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
