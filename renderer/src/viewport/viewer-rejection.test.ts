import { describe, expect, it } from 'vitest';
import { SagaError } from '../../../main/contract/errors.ts';
import { isViewerLibraryRejection } from './viewer-rejection.ts';

function errorWithStack(message: string, frames: string[]): Error {
  const e = new Error(message);
  e.stack = [`Error: ${message}`, ...frames.map((f) => `    at ${f}`)].join('\n');
  return e;
}

describe('isViewerLibraryRejection', () => {
  it("blames the viewer only for rejections thrown in the library's code", () => {
    // The build: the library is its own chunk.
    expect(isViewerLibraryRejection(errorWithStack('Unexpected PLY property', ['parseHeader (app://saga/assets/gaussian-splats-3d-Cx1.js:1:2300)', 'async x (app://saga/assets/index-D3.js:9:1)']))).toBe(true);
    // Development: the prebundled module.
    expect(isViewerLibraryRejection(errorWithStack('x', ['http://127.0.0.1:5173/node_modules/.vite/deps/@mkkellogg_gaussian-splats-3d.js?v=1:10:3']))).toBe(true);
    // The app's own failures during a load are not the scene's.
    expect(isViewerLibraryRejection(errorWithStack('Lost the connection', ['RpcClient.failAll (http://127.0.0.1:1/tok/assets/index-D3.js:1:500)']))).toBe(false);
    expect(isViewerLibraryRejection(new SagaError('DISCONNECTED', 'Lost the connection'))).toBe(false);
    expect(isViewerLibraryRejection({ code: 'DISCONNECTED', message: 'Lost the connection' })).toBe(false);
    expect(isViewerLibraryRejection('worker failed')).toBe(true);
  });
});
