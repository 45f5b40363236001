/**
 * Typed errors shared by every process. Each carries a stable code (for programs and tests) and a
 * message written for the person using the app: what went wrong and what to do about it.
 */
export const ERROR_CODES = [
  // input files
  'FILE_NOT_FOUND',
  'FILE_UNREADABLE',
  'UNSUPPORTED_FORMAT',
  'BAD_HEADER',
  'TRUNCATED',
  'SIZE_MISMATCH',
  'TOO_LARGE',
  'EMPTY_SCENE',
  'NON_FINITE_VALUES',
  'BAD_CAMERAS',
  'BAD_IMAGE',
  'WRITE_FAILED',
  'FILE_EXISTS',
  // command line and API input
  'BAD_ARGUMENT',
  'UNAUTHORIZED',
  'DISCONNECTED',
  // projects
  'PROJECT_NOT_FOUND',
  'PROJECT_EXISTS',
  'PROJECT_CORRUPT',
  'PROJECT_TOO_NEW',
  /** Another program has the project open for writing (project/lock.ts). */
  'PROJECT_LOCKED',
  /** The project folder cannot be written. */
  'PROJECT_READ_ONLY',
  'NO_PROJECT',
  // editing
  'NOTHING_SELECTED',
  'LAYER_LOCKED',
  'FEATURES_MISSING',
  // engine
  'NO_GPU_ADAPTER',
  'GPU_ERROR',
  'MODEL_NOT_FOUND',
  'MODEL_INVALID',
  'MASKS_MISSING',
  'NOT_TRAINED',
  'CANCELLED',
  'BUSY',
  'ENGINE_CRASHED',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface SagaErrorData {
  code: ErrorCode;
  message: string;
  /** Optional machine-readable details (file path, byte offset, ...). Must be JSON-serialisable. */
  details?: Record<string, unknown>;
}

export class SagaError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SagaError';
    this.code = code;
    this.details = details;
  }

  toJSON(): SagaErrorData {
    return { code: this.code, message: this.message, details: this.details };
  }

  static fromJSON(data: SagaErrorData): SagaError {
    return new SagaError(data.code, data.message, data.details);
  }
}

export function isSagaError(e: unknown, code?: ErrorCode): e is SagaError {
  return e instanceof SagaError && (code === undefined || e.code === code);
}

/** Wraps anything thrown into a SagaError, keeping SagaErrors as they are. */
export function toSagaError(e: unknown): SagaError {
  if (e instanceof SagaError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new SagaError('INTERNAL', `Unexpected internal error: ${message}`, undefined, { cause: e });
}
