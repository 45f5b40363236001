import { describe, expect, it } from 'vitest';
import { SagaError } from './errors.ts';
import { validateRequest } from './validate.ts';

function codeOf(method: string, params: unknown): string | undefined {
  try {
    validateRequest(method, params);
    return undefined;
  } catch (e) {
    return e instanceof SagaError ? e.code : 'not a SagaError';
  }
}

describe('validateRequest', () => {
  it('accepts well-formed requests, with or without optional fields', () => {
    expect(codeOf('scene.open', { path: '/data/a.ply' })).toBeUndefined();
    expect(codeOf('project.create', { dir: '/p', source: '/s.ply' })).toBeUndefined();
    expect(codeOf('project.create', { dir: '/p', source: '/s.ply', images: '/imgs' })).toBeUndefined();
    expect(codeOf('app.info', {})).toBeUndefined();
    expect(codeOf('app.info', undefined)).toBeUndefined();
    expect(codeOf('dialog.openPath', { kind: 'folder' })).toBeUndefined();
    expect(codeOf('project.prepare', { masks: 'auto' })).toBeUndefined();
    expect(codeOf('project.prepare', { masks: 'sam', model: 'sam_vit_b_quantized', force: true })).toBeUndefined();
    expect(codeOf('project.prepare', { masks: '/data/my-masks', force: false })).toBeUndefined();
    expect(codeOf('project.prepared', {})).toBeUndefined();
    expect(codeOf('models.list', undefined)).toBeUndefined();
    expect(codeOf('models.install', { id: 'sam_vit_b_quantized' })).toBeUndefined();
    expect(codeOf('segment.prompt', { view: 'a', prompt: { kind: 'points', points: [{ x: 1, y: 2, label: 1 }], sam: true } })).toBeUndefined();
    expect(codeOf('segment.prompt', { view: 'a', prompt: { kind: 'box', box: [1, 2, 3, 4], sam: false } })).toBeUndefined();
  });

  it.each([
    ['unknown method', 'fs.deleteEverything', {}],
    ['missing required field', 'scene.open', {}],
    ['wrong type', 'scene.open', { path: 42 }],
    ['empty path', 'scene.open', { path: '' }],
    ['NUL in path', 'scene.open', { path: '/tmp/a.ply\0.png' }],
    ['too long path', 'project.open', { dir: 'x'.repeat(5000) }],
    ['unknown field', 'project.open', { dir: '/p', extra: 1 }],
    ['params not an object', 'project.open', ['/p']],
    ['params a string', 'scene.open', '/a.ply'],
    ['bad enum', 'dialog.openPath', { kind: 'anything' }],
    ['optional field of wrong type', 'project.create', { dir: '/p', source: '/s', images: false }],
    ['empty job id', 'job.cancel', { jobId: '' }],
    ['prepare without a mask source', 'project.prepare', {}],
    ['prepare with an empty mask source', 'project.prepare', { masks: '' }],
    ['prepare with force not a boolean', 'project.prepare', { masks: 'auto', force: 'yes' }],
    ['prepare with a numeric model', 'project.prepare', { masks: 'sam', model: 3 }],
    ['prepare with NUL in the masks folder', 'project.prepare', { masks: '/m\0' }],
    ['prepare with an unknown field', 'project.prepare', { masks: 'auto', threads: 4 }],
    ['models.list with a field', 'models.list', { all: true }],
    ['models.install without an id', 'models.install', {}],
    ['a SAM flag that is not a boolean', 'segment.prompt', { view: 'a', prompt: { kind: 'points', points: [{ x: 1, y: 2, label: 1 }], sam: 'yes' } }],
    ['a SAM flag on a scribble', 'segment.prompt', { view: 'a', prompt: { kind: 'scribble', points: [{ x: 1, y: 2, label: 1 }], sam: true } }],
  ])('refuses %s with BAD_ARGUMENT', (_label, method, params) => {
    expect(codeOf(method, params)).toBe('BAD_ARGUMENT');
  });

  it('names the field at fault in the message and details', () => {
    try {
      validateRequest('project.create', { dir: '/p', source: '' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SagaError);
      expect((e as SagaError).message).toContain("'source'");
      expect((e as SagaError).details).toMatchObject({ method: 'project.create', field: 'source' });
    }
  });
});
