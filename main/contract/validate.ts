/**
 * Checks a request's params where it enters main (any transport): right types, required fields
 * present, no unknown fields, path strings non-empty and free of NUL bytes. A renderer is not
 * trusted to send what the types say. No Node imports: preload may use it too.
 */
import { API_METHOD_NAMES, MAX_LAYER_NAME, type ApiMethod, type ApiParams } from './api.ts';
import { SagaError } from './errors.ts';

type FieldSpec =
  | { kind: 'path'; optional?: boolean }
  | { kind: 'string'; optional?: boolean; maxLength?: number; pattern?: { test: RegExp; says: string } }
  | { kind: 'enum'; values: readonly string[]; optional?: boolean }
  | { kind: 'boolean'; optional?: boolean }
  | { kind: 'integer'; optional?: boolean; min: number; max: number }
  | { kind: 'integers'; optional?: boolean; min: number; max: number; maxItems: number };

type ParamsSchema<M extends ApiMethod> = { [K in keyof ApiParams<M>]-?: FieldSpec };

/** Longest path we accept: far above any real OS limit, low enough to stop abuse. */
const MAX_PATH = 4096;

/** A layer id: 1..65535, or 0 where a request means the Gaussians in no layer. */
const LAYER_ID = { kind: 'integer', min: 0, max: 65535 } as const;
const COLOUR = { kind: 'string', maxLength: 7, pattern: { test: /^#[0-9a-fA-F]{6}$/, says: 'a colour #rrggbb' } } as const;
const LAYER_NAME = { kind: 'string', maxLength: MAX_LAYER_NAME } as const;

const SCHEMAS: { [M in ApiMethod]: ParamsSchema<M> } = {
  'app.info': {},
  'scene.open': { path: { kind: 'path' } },
  'scene.close': {},
  'project.create': { dir: { kind: 'path' }, source: { kind: 'path' }, images: { kind: 'path', optional: true } },
  'project.open': { dir: { kind: 'path' } },
  'project.close': {},
  'project.recent': {},
  'project.setSettings': { upFlipped: { kind: 'boolean', optional: true } },
  'path.inspect': { path: { kind: 'path' } },
  'project.verifySource': {},
  // 'auto', 'sam' or a folder path; a model is a registry id or a folder path: both path-shaped.
  'project.prepare': { masks: { kind: 'path' }, model: { kind: 'path', optional: true }, force: { kind: 'boolean', optional: true } },
  'project.prepared': {},
  'project.train': {
    iterations: { kind: 'integer', min: 1, max: 10_000_000, optional: true },
    seed: { kind: 'integer', min: 0, max: 2 ** 32 - 1, optional: true },
    ablate: { kind: 'enum', values: ['corr', 'guidance'], optional: true },
    restart: { kind: 'boolean', optional: true },
  },
  'project.training': {},
  'models.list': {},
  'models.install': { id: { kind: 'string', maxLength: 200 } },
  'dialog.openPath': { kind: { kind: 'enum', values: ['scene', 'project', 'folder'] } },
  'job.cancel': { jobId: { kind: 'string', maxLength: 200 } },
  'job.pause': { jobId: { kind: 'string', maxLength: 200 } },
  'job.resume': { jobId: { kind: 'string', maxLength: 200 } },
  'blob.get': { id: { kind: 'string', maxLength: 200 } },
  'edit.state': {},
  'edit.display': { since: { kind: 'integer', min: 0, max: 2 ** 32 - 1, optional: true } },
  'edit.history': {},
  'edit.undo': {},
  'edit.redo': {},
  'edit.goto': { position: { kind: 'integer', min: 0, max: 2 ** 31 - 1 } },
  'edit.invertSelection': {},
  'edit.clearSelection': {},
  'edit.newLayer': { name: { ...LAYER_NAME, optional: true }, colour: { ...COLOUR, optional: true } },
  'edit.renameLayer': { layer: LAYER_ID, name: LAYER_NAME },
  'edit.recolourLayer': { layer: LAYER_ID, colour: COLOUR },
  'edit.showLayer': { layer: LAYER_ID, visible: { kind: 'boolean' } },
  'edit.isolateLayer': { layer: LAYER_ID },
  'edit.lockLayer': { layer: LAYER_ID, locked: { kind: 'boolean' } },
  'edit.deleteLayer': { layer: LAYER_ID },
  'edit.mergeLayers': { into: LAYER_ID, layers: { kind: 'integers', min: 1, max: 65535, maxItems: 65535 } },
  'edit.moveSelection': { layer: LAYER_ID },
  'edit.deleteSelected': {},
  'edit.export': {
    path: { kind: 'path' },
    layer: { ...LAYER_ID, optional: true },
    includeHidden: { kind: 'boolean', optional: true },
    features: { kind: 'boolean', optional: true },
    overwrite: { kind: 'boolean', optional: true },
    replaceSource: { kind: 'boolean', optional: true },
  },
};

function bad(method: string, message: string, field?: string): SagaError {
  return new SagaError('BAD_ARGUMENT', `Request '${method}': ${message}`, field === undefined ? { method } : { method, field });
}

function checkField(method: string, name: string, spec: FieldSpec, value: unknown): void {
  if (spec.kind === 'boolean') {
    if (typeof value !== 'boolean') throw bad(method, `'${name}' must be true or false.`, name);
    return;
  }
  if (spec.kind === 'integer') {
    if (!isIntegerIn(value, spec.min, spec.max)) throw bad(method, `'${name}' must be a whole number from ${spec.min} to ${spec.max}.`, name);
    return;
  }
  if (spec.kind === 'integers') {
    if (!Array.isArray(value) || value.length > spec.maxItems || !value.every((v) => isIntegerIn(v, spec.min, spec.max))) {
      throw bad(method, `'${name}' must be a list of at most ${spec.maxItems} whole numbers from ${spec.min} to ${spec.max}.`, name);
    }
    return;
  }
  if (typeof value !== 'string') throw bad(method, `'${name}' must be a string.`, name);
  switch (spec.kind) {
    case 'path':
      if (value.length === 0) throw bad(method, `'${name}' is empty: give a file or folder path.`, name);
      if (value.includes('\0')) throw bad(method, `'${name}' contains a NUL character, which no path can hold.`, name);
      if (value.length > MAX_PATH) throw bad(method, `'${name}' is longer than ${MAX_PATH} characters.`, name);
      return;
    case 'string':
      if (value.length === 0) throw bad(method, `'${name}' is empty.`, name);
      if (spec.maxLength !== undefined && value.length > spec.maxLength) throw bad(method, `'${name}' is longer than ${spec.maxLength} characters.`, name);
      if (spec.pattern && !spec.pattern.test.test(value)) throw bad(method, `'${name}' must be ${spec.pattern.says}.`, name);
      return;
    case 'enum':
      if (!spec.values.includes(value)) throw bad(method, `'${name}' must be one of ${spec.values.join(', ')}.`, name);
      return;
  }
}

function isIntegerIn(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

export function isApiMethod(method: string): method is ApiMethod {
  return (API_METHOD_NAMES as readonly string[]).includes(method);
}

/** Throws SagaError('BAD_ARGUMENT') unless `params` fits `method`. */
export function validateRequest(method: string, params: unknown): void {
  if (!isApiMethod(method)) throw bad(method, 'no such request. The window and the app may be from different versions: restart the app.');
  // Requests without params may send {} or omit them (undefined/null) alike.
  const p = params ?? {};
  if (typeof p !== 'object' || Array.isArray(p)) throw bad(method, 'params must be an object.');
  const schema = SCHEMAS[method] as Record<string, FieldSpec>;
  const record = p as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!Object.prototype.hasOwnProperty.call(schema, key)) throw bad(method, `unknown field '${key}'.`, key);
  }
  for (const [name, spec] of Object.entries(schema)) {
    const value = record[name];
    if (value === undefined) {
      if (spec.optional) continue;
      throw bad(method, `'${name}' is required.`, name);
    }
    checkField(method, name, spec, value);
  }
}
