import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENES, sharedScene } from '../../e2e/fixtures.ts';
import { type ErrorCode, SagaError } from '../contract/errors.ts';
import { readScene, readSceneBytes } from './io.ts';

let dir: string;
let inria: Uint8Array;
let guitar: Uint8Array;
let splat: Uint8Array;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'saga-bad-input-'));
  inria = new Uint8Array(await readFile(sharedScene(SCENES.inria)));
  guitar = new Uint8Array(await readFile(sharedScene(SCENES.guitar)));
  splat = new Uint8Array(await readFile(sharedScene(SCENES.antimatter)));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fileWith(name: string, bytes: Uint8Array | string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

/** Reads the file and returns the SagaError it must fail with (failing the test otherwise). */
async function failure(path: string): Promise<SagaError> {
  try {
    await readScene(path);
  } catch (e) {
    expect(e).toBeInstanceOf(SagaError);
    return e as SagaError;
  }
  throw new Error(`${path} was read without error`);
}

async function expectCode(path: string, code: ErrorCode, message?: RegExp): Promise<void> {
  const e = await failure(path);
  expect(e.code, e.message).toBe(code);
  // Every message names the file and ends with something to do.
  expect(e.message).toContain(path);
  if (message) expect(e.message).toMatch(message);
}

function replaceHeader(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const text = new TextDecoder('latin1').decode(bytes.subarray(0, 4096));
  const headerEnd = text.indexOf('end_header\n') + 'end_header\n'.length;
  const header = text.slice(0, headerEnd).replace(from, to);
  const out = new Uint8Array(header.length + bytes.length - headerEnd);
  out.set(new TextEncoder().encode(header));
  out.set(bytes.subarray(headerEnd), header.length);
  return out;
}

describe('unreadable paths', () => {
  it('FILE_NOT_FOUND for a missing file', async () => {
    await expectCode(join(dir, 'missing.ply'), 'FILE_NOT_FOUND', /no such file/);
  });

  it('FILE_UNREADABLE for a folder, and for a file without read permission', async () => {
    await expectCode(dir, 'FILE_UNREADABLE', /folder/);
    const path = await fileWith('locked.ply', inria);
    await chmod(path, 0o000);
    try {
      // root reads anything: the permission case can only be checked as an ordinary user.
      if (process.getuid?.() !== 0) await expectCode(path, 'FILE_UNREADABLE', /permission denied/);
    } finally {
      await chmod(path, 0o644);
    }
  });

  it('UNSUPPORTED_FORMAT for an unknown extension and content', async () => {
    await expectCode(await fileWith('mesh.obj', 'v 0 0 0\n'), 'UNSUPPORTED_FORMAT', /Supported: 3DGS PLY/);
  });
});

describe('corrupt files', () => {
  it('BAD_HEADER for a wrong magic, an unknown format, a malformed element and an impossible SH set', async () => {
    await expectCode(await fileWith('magic.ply', 'plx\n' + 'x'.repeat(100)), 'BAD_HEADER', /magic/);
    await expectCode(await fileWith('format.ply', replaceHeader(inria, 'binary_little_endian', 'binary_middle_endian')), 'BAD_HEADER', /unknown format/);
    await expectCode(await fileWith('element.ply', replaceHeader(inria, 'element vertex 9080', 'element vertex many')), 'BAD_HEADER', /malformed element/);
    const sevenRest = `ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\n${Array.from({ length: 7 }, (_, k) => `property float f_rest_${k}\n`).join('')}end_header\n${'0 '.repeat(10)}\n`;
    await expectCode(await fileWith('rest.ply', sevenRest), 'BAD_HEADER', /7 f_rest_\* properties/);
    await expectCode(await fileWith('nopos.ply', replaceHeader(inria, 'property float x\n', 'property float q\n')), 'BAD_HEADER', /no 'x' property/);
  });

  it('TRUNCATED when the data or the header stops early, naming declared and actual sizes', async () => {
    await expectCode(await fileWith('half.ply', inria.subarray(0, inria.length >> 1)), 'TRUNCATED', /9,080 Gaussians .* but it has 1,126,684 bytes/);
    await expectCode(await fileWith('header.ply', inria.subarray(0, 200)), 'TRUNCATED', /ends inside its header/);
    await expectCode(await fileWith('guitar-cut.ply', guitar.subarray(0, guitar.length - 1)), 'TRUNCATED');
  });

  it('SIZE_MISMATCH when the file holds more than its header declares, or .splat is not whole records', async () => {
    const longer = new Uint8Array(inria.length + 248);
    longer.set(inria);
    await expectCode(await fileWith('longer.ply', longer), 'SIZE_MISMATCH', /248 bytes more/);
    await expectCode(await fileWith('odd.splat', splat.subarray(0, splat.length - 5)), 'SIZE_MISMATCH', /32-byte records/);
    await expectCode(await fileWith('chunks.ply', replaceHeader(guitar, 'element chunk 355', 'element chunk 354')), 'SIZE_MISMATCH');
  });

  it('absurd counts in a 1 KB file fail fast without allocating (PLY binary, ASCII, compressed)', async () => {
    const rssBefore = process.memoryUsage.rss();
    const started = performance.now();
    const tiny = replaceHeader(inria.subarray(0, 1024 + 1700), 'element vertex 9080', 'element vertex 4000000000');
    await expectCode(await fileWith('absurd.ply', tiny.subarray(0, 2048)), 'TRUNCATED', /4,000,000,000 Gaussians/);
    const ascii = 'ply\nformat ascii 1.0\nelement vertex 900000000000\nproperty float x\nproperty float y\nproperty float z\nend_header\n1 2 3\n';
    await expectCode(await fileWith('absurd-ascii.ply', ascii), 'TRUNCATED', /900,000,000,000 Gaussians/);
    const compressed = replaceHeader(guitar, 'element vertex 90854', 'element vertex 2000000000').subarray(0, 1024 * 64);
    await expectCode(await fileWith('absurd-compressed.ply', compressed), 'TRUNCATED');
    expect(performance.now() - started).toBeLessThan(2000);
    expect(process.memoryUsage.rss() - rssBefore).toBeLessThan(64 * 1024 * 1024);
  });

  it('TOO_LARGE beyond the splat limit, checked before decoding', async () => {
    const path = await fileWith('limit.ply', inria);
    await expect(readScene(path, { maxSplats: 1000 })).rejects.toMatchObject({ code: 'TOO_LARGE', message: expect.stringMatching(/9,080 Gaussians, more than the 1,000/) });
  });

  it('EMPTY_SCENE for zero Gaussians and empty files', async () => {
    const header = 'ply\nformat binary_little_endian 1.0\nelement vertex 0\nproperty float x\nproperty float y\nproperty float z\nend_header\n';
    await expectCode(await fileWith('zero.ply', header), 'EMPTY_SCENE', /no Gaussians/);
    await expectCode(await fileWith('empty.splat', new Uint8Array(0)), 'EMPTY_SCENE', /empty/);
    expect(() => readSceneBytes(new Uint8Array(0), 'splat')).toThrowError(expect.objectContaining({ code: 'EMPTY_SCENE' }));
  });

  it('NON_FINITE_VALUES for NaN in a real file, with the row; kept or reported on request', async () => {
    const bytes = new Uint8Array(inria);
    const headerEnd = new TextDecoder('latin1').decode(bytes.subarray(0, 4096)).indexOf('end_header\n') + 11;
    new DataView(bytes.buffer).setFloat32(headerEnd + 248 * 1234 + 4, NaN, true); // y of row 1234
    new DataView(bytes.buffer).setFloat32(headerEnd + 248 * 5000 + 244, Infinity, true); // rot_3 of row 5000
    const path = await fileWith('nan.ply', bytes);
    await expectCode(path, 'NON_FINITE_VALUES', /2 of 9,080 Gaussians hold NaN or infinite values \(first at row 1234\)/);
    const reported = await readScene(path, { nonFinite: 'report' });
    expect(reported.source?.nonFinite).toEqual({ count: 2, firstRow: 1234 });
    const kept = await readScene(path, { nonFinite: 'keep' });
    expect(Number.isNaN(kept.positions[1234 * 3 + 1])).toBe(true);
  });

  it('cancellation through an AbortSignal is a CANCELLED error', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(readScene(sharedScene(SCENES.inria), { signal: controller.signal })).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});
