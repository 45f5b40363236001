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
