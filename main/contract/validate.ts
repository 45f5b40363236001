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
  | { kind: 'integers'; optional?: boolean; min: number; max: number; maxItems: number }
  /** Structured values: `check` returns what is wrong in a sentence, or undefined when the value fits. */
  | { kind: 'check'; optional?: boolean; check: (value: unknown) => string | undefined };

type ParamsSchema<M extends ApiMethod> = { [K in keyof ApiParams<M>]-?: FieldSpec };

/** Longest path we accept: far above any real OS limit, low enough to stop abuse. */
const MAX_PATH = 4096;

/** A layer id: 1..65535, or 0 where a request means the Gaussians in no layer. */
const LAYER_ID = { kind: 'integer', min: 0, max: 65535 } as const;
const COLOUR = { kind: 'string', maxLength: 7, pattern: { test: /^#[0-9a-fA-F]{6}$/, says: 'a colour #rrggbb' } } as const;
const LAYER_NAME = { kind: 'string', maxLength: MAX_LAYER_NAME } as const;

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const MAX_PROMPT_POINTS = 10_000;
const MAX_MASK_PIXELS = 16384 * 16384;

/** A camera as main/scene/camera.ts defines it (the viewport's, for a prompt in a free view). */
function checkCamera(v: unknown): string | undefined {
  const c = v as Record<string, unknown> | null;
  if (!c || typeof c !== 'object') return 'must be a camera object';
  for (const k of ['width', 'height']) if (!Number.isInteger(c[k]) || (c[k] as number) < 1 || (c[k] as number) > 16384) return `needs a whole ${k} from 1 to 16384`;
  for (const k of ['fx', 'fy', 'cx', 'cy']) if (!finite(c[k])) return `needs a finite ${k}`;
  if (!((c.fx as number) > 0 && (c.fy as number) > 0)) return 'needs positive focal lengths';
  if (!Array.isArray(c.rotation) || c.rotation.length !== 9 || !c.rotation.every(finite)) return 'needs a rotation of 9 finite numbers';
  if (!Array.isArray(c.translation) || c.translation.length !== 3 || !c.translation.every(finite)) return 'needs a translation of 3 finite numbers';
  if (c.name !== undefined && (typeof c.name !== 'string' || c.name.length > 500)) return 'has a name that is not a short string';
  return undefined;
}

/** A SegmentPrompt (api.ts). */
function checkPrompt(v: unknown): string | undefined {
  const p = v as Record<string, unknown> | null;
  if (!p || typeof p !== 'object') return 'must be a prompt object';
  const points = (list: unknown) => {
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_PROMPT_POINTS) return `needs 1 to ${MAX_PROMPT_POINTS} points`;
    for (const q of list as Record<string, unknown>[]) {
      if (!q || !finite(q.x) || !finite(q.y) || (q.label !== 0 && q.label !== 1)) return 'needs points {x, y, label 0 or 1} with finite coordinates';
    }
    return undefined;
  };
  if (p.sam !== undefined) {
    if (p.kind !== 'points' && p.kind !== 'box') return "takes sam only with kind 'points' or 'box'";
    if (typeof p.sam !== 'boolean') return 'needs sam to be true or false';
  }
  switch (p.kind) {
    case 'points':
    case 'scribble':
      return points(p.points);
    case 'box':
      return Array.isArray(p.box) && p.box.length === 4 && p.box.every(finite) ? undefined : 'needs a box [x0, y0, x1, y1] of finite numbers';
    case 'mask': {
      if (!Number.isInteger(p.width) || !Number.isInteger(p.height) || (p.width as number) < 1 || (p.height as number) < 1) return 'needs a whole width and height of at least 1';
      if ((p.width as number) * (p.height as number) > MAX_MASK_PIXELS) return 'is larger than 16384 x 16384';
      if (!(p.data instanceof Uint8Array) || p.data.length !== (p.width as number) * (p.height as number)) return 'needs width x height bytes of mask data';
      return undefined;
    }
    default:
      return "needs a kind: 'points', 'scribble', 'box' or 'mask'";
  }
}

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
  'segment.prompt': {
    view: { kind: 'string', maxLength: 500, optional: true },
    camera: { kind: 'check', optional: true, check: checkCamera },
    prompt: { kind: 'check', check: checkPrompt },
    mode: { kind: 'enum', values: ['replace', 'add', 'subtract', 'intersect'], optional: true },
    post: { kind: 'boolean', optional: true },
  },
  'project.featureColors': {},
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
  if (spec.kind === 'check') {
    const problem = spec.check(value);
    if (problem) throw bad(method, `'${name}' ${problem}.`, name);
    return;
  }
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
