import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SagaError } from '../contract/errors.ts';
import { createScene, type GaussianScene } from './gaussians.ts';
import { readScene } from './io.ts';
import { sceneRows, writeSceneRows } from './write-rows.ts';

const dir = mkdtempSync(join(tmpdir(), 'saga-write-rows-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** 10 Gaussians, SH degree 1, with a uchar and a double extra (so rows are not whole 32-bit words). */
function scene(): GaussianScene {
  const s = createScene(10, 1);
  for (let i = 0; i < 10; i++) {
    s.positions.set([i, i + 0.5, -i], i * 3);
    s.opacities[i] = i / 10;
    s.shRest[i * 9 + 8] = -i;
  }
  s.extras = [
    { name: 'label', type: 'uchar', data: Uint8Array.from({ length: 10 }, (_, i) => 200 + i) },
    { name: 'weight', type: 'double', data: Float64Array.from({ length: 10 }, (_, i) => Math.PI * i) },
  ];
  return s;
}

async function errorOf(work: () => Promise<unknown>): Promise<SagaError> {
  try {
    await work();
  } catch (e) {
    if (e instanceof SagaError) return e;
    throw e;
  }
  throw new Error('expected a SagaError');
}

describe('writing some rows of a scene', () => {
  it('writes the chosen rows in order, extras of any type included, with extra float columns', async () => {
    const s = scene();
    const rows = Uint32Array.from([1, 2, 3, 7, 9]);
    const columns = { names: ['f_feat_0', 'f_feat_1'], data: Float32Array.from({ length: 20 }, (_, k) => k * 0.25) };
    const out = join(dir, 'part.ply');
    const bytes = await writeSceneRows(s, rows, out, { columns });
    expect(readFileSync(out).length).toBe(bytes);
    const back = await readScene(out);
    expect(back.count).toBe(5);
    expect(back.shDegree).toBe(1);
    expect([...back.positions.subarray(9, 12)]).toEqual([7, 7.5, -7]);
    expect(back.shRest[4 * 9 + 8]).toBe(-9);
    expect([...back.extras.find((e) => e.name === 'label')!.data]).toEqual([201, 202, 203, 207, 209]);
    expect([...back.extras.find((e) => e.name === 'weight')!.data]).toEqual([1, 2, 3, 7, 9].map((i) => Math.PI * i));
    expect([...back.extras.find((e) => e.name === 'f_feat_1')!.data]).toEqual([1, 2, 3, 7, 9].map((i) => (i * 2 + 1) * 0.25));
  });

  it('gathers a scene of the chosen rows for the quantised formats', async () => {
    const part = sceneRows(scene(), Uint32Array.from([0, 5]));
    expect(part.count).toBe(2);
    expect([...part.positions]).toEqual([0, 0.5, -0, 5, 5.5, -5]);
    expect([...part.extras[0]!.data]).toEqual([200, 205]);
    const out = join(dir, 'part.splat');
    await writeSceneRows(scene(), Uint32Array.from([0, 5]), out);
    expect((await readScene(out)).count).toBe(2);
  });

  it('refuses no rows, rows out of order, and columns a format cannot hold; a cancelled write leaves no file', async () => {
    const s = scene();
    expect((await errorOf(() => writeSceneRows(s, new Uint32Array(0), join(dir, 'none.ply')))).code).toBe('EMPTY_SCENE');
    expect((await errorOf(() => writeSceneRows(s, Uint32Array.from([3, 2]), join(dir, 'bad.ply')))).code).toBe('INTERNAL');
    expect((await errorOf(() => writeSceneRows(s, Uint32Array.from([10]), join(dir, 'bad.ply')))).code).toBe('INTERNAL');
    const columns = { names: ['f_feat_0'], data: new Float32Array(10) };
    expect((await errorOf(() => writeSceneRows(s, Uint32Array.from([1]), join(dir, 'f.spz'), { columns }))).message).toMatch(/cannot hold extra properties/);
    expect((await errorOf(() => writeSceneRows(s, Uint32Array.from([1]), join(dir, 'f.ply'), { columns: { names: ['label'], data: new Float32Array(10) } }))).message).toMatch(/already has a property 'label'/);
    const controller = new AbortController();
    controller.abort();
    expect((await errorOf(() => writeSceneRows(s, Uint32Array.from([1]), join(dir, 'cancelled.ply'), { signal: controller.signal }))).code).toBe('CANCELLED');
    expect(existsSync(join(dir, 'cancelled.ply'))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});
