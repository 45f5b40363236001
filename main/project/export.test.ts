import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENES, sharedScene } from '../../e2e/fixtures.ts';
import type { ExportParams } from '../contract/api.ts';
import { SagaError } from '../contract/errors.ts';
import { mulberry32 } from '../common/random.ts';
import type { GaussianScene } from '../scene/gaussians.ts';
import { readScene } from '../scene/io.ts';
import { parsePlyHeader } from '../scene/ply-header.ts';
import { writeCheckpoint } from './checkpoints.ts';
import { ProjectEditor } from './editor.ts';
import { planExport, readProjectScene, writeExport } from './export.ts';
import { resolveProjectSource } from './source.ts';
import { createProject, type Project } from './store.ts';
import { selectRange } from './testing/edit-script.ts';

let root: string;
let scenePath: string;
let project: Project;
let editor: ProjectEditor;
let scene: GaussianScene;

/** The INRIA fixture's raw vertex rows (62 little-endian floats each), to compare saved rows with. */
let sourceRows: Buffer;
const ROW = 62 * 4;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'saga-export-'));
  // A copy: one test saves over the project's source on purpose.
  scenePath = join(root, 'scene.ply');
  copyFileSync(sharedScene(SCENES.inria), scenePath);
  const bytes = readFileSync(scenePath);
  sourceRows = bytes.subarray(parsePlyHeader(bytes).headerBytes);
  project = createProject(join(root, 'project'), { source: (await resolveProjectSource(scenePath)).source });
  editor = ProjectEditor.open(project);
  scene = await readProjectScene(project);
  // The edited scene: layer "Top" (rows 0..999), rows 500..599 deleted, layer "Hidden" (2000..2999) hidden.
  selectRange(editor, 0, 1000);
  editor.newLayer({ name: 'Top' });
  selectRange(editor, 500, 600);
  editor.deleteSelected();
  selectRange(editor, 2000, 3000);
  editor.newLayer({ name: 'Hidden' });
  editor.setLayerVisible(2, false);
  editor.clearSelection();
});
afterAll(() => {
  project.close();
  rmSync(root, { recursive: true, force: true });
});

async function save(params: ExportParams) {
  return writeExport(scene, await planExport(project, editor, params));
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

/** Output vertex rows of a saved binary PLY, and its header. */
function savedRows(path: string): { rows: Buffer; header: ReturnType<typeof parsePlyHeader> } {
  const bytes = readFileSync(path);
  const header = parsePlyHeader(bytes);
  return { rows: bytes.subarray(header.headerBytes), header };
}

const kept = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

describe('saving the edited scene', () => {
  it('writes the shown, not deleted Gaussians as PLY, every kept row bit for bit as in the source file', async () => {
    const out = join(root, 'edited.ply');
    const summary = await save({ path: out });
    const expected = [...kept(0, 500), ...kept(600, 2000), ...kept(3000, scene.count)];
    expect(summary).toMatchObject({ path: out, format: 'ply', count: expected.length, featureDim: 0 });
    const { rows, header } = savedRows(out);
    expect(header.elements[0]!.count).toBe(expected.length);
    expect(header.elements[0]!.properties.map((p) => p.name)).toEqual(scene.source!.plyProperties!.map((p) => p.name));
    expect(rows.length).toBe(expected.length * ROW);
    expect(summary.bytes).toBe(readFileSync(out).length);
    let mismatched = 0;
    expected.forEach((src, j) => {
      if (!rows.subarray(j * ROW, (j + 1) * ROW).equals(sourceRows.subarray(src * ROW, (src + 1) * ROW))) mismatched++;
    });
    expect(mismatched).toBe(0);
    // And it reads back as a scene of that many Gaussians.
    expect((await readScene(out)).count).toBe(expected.length);
  });

  it('exports one layer, and includes hidden Gaussians when asked', async () => {
    const layer = await save({ path: join(root, 'top.ply'), layer: 1 });
    expect(layer.count).toBe(900);
    const { rows } = savedRows(join(root, 'top.ply'));
    expect(rows.subarray(500 * ROW, 501 * ROW).equals(sourceRows.subarray(600 * ROW, 601 * ROW))).toBe(true);
    expect((await save({ path: join(root, 'hidden.ply'), layer: 2 })).count).toBe(1000);
    expect((await save({ path: join(root, 'all.ply'), includeHidden: true })).count).toBe(scene.count - 100);
  });

  it('adds trained features as float properties f_feat_0..f_feat_31 after the source properties', async () => {
    const dim = 32;
    const r = mulberry32(3);
    const features = Float32Array.from({ length: scene.count * dim }, () => r() * 2 - 1);
    await writeCheckpoint(project.dir, { format: 'saga-training-checkpoint', version: 1, iteration: 500, iterations: 500, count: scene.count, dim, seed: 1, masksKey: 'test', options: {}, createdAt: new Date().toISOString() }, { features });
    const out = join(root, 'with-features.ply');
    const summary = await save({ path: out, layer: 1, features: true });
    expect(summary.featureDim).toBe(dim);
    const { rows, header } = savedRows(out);
    const names = header.elements[0]!.properties.map((p) => p.name);
    expect(names.slice(62)).toEqual(Array.from({ length: dim }, (_, k) => `f_feat_${k}`));
    const wide = ROW + dim * 4;
    const expected = [...kept(0, 500), ...kept(600, 1000)];
    let mismatched = 0;
    expected.forEach((src, j) => {
      const row = rows.subarray(j * wide, (j + 1) * wide);
      if (!row.subarray(0, ROW).equals(sourceRows.subarray(src * ROW, (src + 1) * ROW))) mismatched++;
      const f = new Float32Array(row.buffer.slice(row.byteOffset + ROW, row.byteOffset + wide));
      if (!f.every((v, k) => v === features[src * dim + k])) mismatched++;
    });
    expect(mismatched).toBe(0);
    const back = await readScene(out);
    expect(back.extras.filter((e) => e.name.startsWith('f_feat_'))).toHaveLength(dim);

    // That file as a project of its own, trained again with 4 channels: the old 32 give way.
    const again = createProject(join(root, 'again'), { source: (await resolveProjectSource(out)).source });
    try {
      const e = ProjectEditor.open(again);
      const fresh = Float32Array.from({ length: 900 * 4 }, (_, k) => -k);
      await writeCheckpoint(again.dir, { format: 'saga-training-checkpoint', version: 1, iteration: 9, iterations: 9, count: 900, dim: 4, seed: 1, masksKey: 'again', options: {}, createdAt: new Date().toISOString() }, { features: fresh });
      const resaved = join(root, 'resaved.ply');
      await writeExport(await readProjectScene(again), await planExport(again, e, { path: resaved, features: true }));
      const { header } = savedRows(resaved);
      expect(header.elements[0]!.properties.map((p) => p.name).filter((n) => n.startsWith('f_feat_'))).toEqual(['f_feat_0', 'f_feat_1', 'f_feat_2', 'f_feat_3']);
      expect(header.elements[0]!.properties).toHaveLength(62 + 4);
      expect((await readScene(resaved)).extras.find((x) => x.name === 'f_feat_3')!.data[10]).toBe(-43);
    } finally {
      again.close();
    }
  });

  it('writes .splat and .spz with the right count; .splat keeps positions exactly', async () => {
    const splat = await save({ path: join(root, 'edited.splat') });
    expect(splat).toMatchObject({ format: 'splat', count: scene.count - 1100 });
    const back = await readScene(join(root, 'edited.splat'));
    expect(back.count).toBe(scene.count - 1100);
    // Row 500 of the output is source row 600.
    expect([...back.positions.subarray(500 * 3, 501 * 3)]).toEqual([...scene.positions.subarray(600 * 3, 601 * 3)]);
    const spz = await save({ path: join(root, 'edited.spz'), layer: 1 });
    expect((await readScene(spz.path)).count).toBe(900);
  });
});

describe('refusing a save', () => {
  it('never writes over the source scene without replaceSource, and does with it', async () => {
    const before = readFileSync(scenePath);
    const err = await errorOf(() => save({ path: scenePath, overwrite: true }));
    expect(err.code).toBe('FILE_EXISTS');
    expect(err.details).toMatchObject({ source: true });
    expect(err.message).toMatch(/source scene/);
    expect(readFileSync(scenePath).equals(before)).toBe(true);
    // The same file under another name (a hard link) is the source too.
    const alias = join(root, 'alias.ply');
    rmSync(alias, { force: true });
    linkSync(scenePath, alias);
    expect((await errorOf(() => save({ path: alias, overwrite: true }))).details).toMatchObject({ source: true });
    rmSync(alias);

    const replaced = await save({ path: scenePath, replaceSource: true, layer: 1 });
    expect(replaced.count).toBe(900);
    expect(readFileSync(scenePath).length).toBeLessThan(before.length);
    writeFileSync(scenePath, before);
  });

  it('asks before replacing an existing file', async () => {
    const out = join(root, 'exists.ply');
    writeFileSync(out, 'keep me');
    const err = await errorOf(() => save({ path: out }));
    expect(err).toMatchObject({ code: 'FILE_EXISTS', details: { source: false } });
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    await save({ path: out, overwrite: true });
    expect(readFileSync(out).subarray(0, 3).toString()).toBe('ply');
  });

  it('says what is wrong with a missing folder, a read-only place, a folder name or an unknown extension, and writes nothing', async () => {
    const missing = join(root, 'no-such-folder', 'out.ply');
    const err = await errorOf(() => save({ path: missing }));
    expect(err.code).toBe('WRITE_FAILED');
    expect(err.message).toMatch(/does not exist/);
    expect(existsSync(join(root, 'no-such-folder'))).toBe(false);
    // sysfs refuses new files even to root.
    const readOnly = await errorOf(() => save({ path: '/sys/edited.ply' }));
    expect(readOnly.code).toBe('WRITE_FAILED');
    expect(readOnly.message).toMatch(/permission denied|read-only/);
    expect(existsSync('/sys/edited.ply')).toBe(false);
    mkdirSync(join(root, 'a-folder.ply'), { recursive: true });
    expect((await errorOf(() => save({ path: join(root, 'a-folder.ply') }))).message).toMatch(/is a folder/);
    expect((await errorOf(() => save({ path: join(root, 'out.obj') }))).code).toBe('UNSUPPORTED_FORMAT');
    expect((await errorOf(() => save({ path: join(root, 'f.splat'), features: true }))).message).toMatch(/only be saved in a \.ply/);
    // No temporary or probe files were left anywhere.
    expect(readdirSync(root).filter((f) => f.includes('.tmp-') || f.includes('.probe-'))).toEqual([]);
  });

  it('refuses to save nothing, and features the project does not have', async () => {
    const other = createProject(join(root, 'bare'), { source: (await resolveProjectSource(sharedScene(SCENES.inria))).source });
    try {
      const e = ProjectEditor.open(other);
      expect((await errorOf(() => planExport(other, e, { path: join(root, 'f.ply'), features: true }))).code).toBe('FEATURES_MISSING');
      e.setLayerVisible(0, false);
      const empty = await errorOf(() => planExport(other, e, { path: join(root, 'empty.ply') }));
      expect(empty.code).toBe('EMPTY_SCENE');
      expect(empty.message).toMatch(/no Gaussians left to save/);
      expect(existsSync(join(root, 'empty.ply'))).toBe(false);
    } finally {
      other.close();
    }
  });
});

describe('saving a scene that came from a compressed PLY', () => {
  it('writes the decoded values of the kept rows exactly, as INRIA PLY', async () => {
    const guitar = createProject(join(root, 'guitar'), { source: (await resolveProjectSource(sharedScene(SCENES.guitar))).source });
    try {
      const e = ProjectEditor.open(guitar);
      const decoded = await readProjectScene(guitar);
      selectRange(e, 10_000, 40_000);
      e.deleteSelected();
      const out = join(root, 'guitar-edited.ply');
      const summary = await writeExport(decoded, await planExport(guitar, e, { path: out }));
      expect(summary.count).toBe(decoded.count - 30_000);
      const back = await readScene(out);
      const same = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
      // Output row 10,000 onwards is source row 40,000 onwards.
      for (const [field, width] of [['positions', 3], ['scales', 3], ['rotations', 4], ['opacities', 1], ['sh0', 3]] as const) {
        expect(same(back[field].subarray(0, 10_000 * width), decoded[field].subarray(0, 10_000 * width))).toBe(true);
        expect(same(back[field].subarray(10_000 * width), decoded[field].subarray(40_000 * width))).toBe(true);
      }
    } finally {
      guitar.close();
    }
  });
});
