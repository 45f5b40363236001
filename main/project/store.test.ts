import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENES, sharedScene } from '../../e2e/fixtures.ts';
import { SagaError } from '../contract/errors.ts';
import { FLAG_DELETED, FLAG_HIDDEN, stateDelta } from './gaussian-state.ts';
import { MIGRATIONS, SCHEMA_VERSION, migrate } from './schema.ts';
import { PROJECT_DB, createProject, openProject, type ProjectSource } from './store.ts';
import { plySource } from './test-source.ts';

let root: string;
let source: ProjectSource;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'saga-store-'));
  source = await plySource(sharedScene(SCENES.inria));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
const freshDir = () => join(root, `p${n++}`);

function errorOf(fn: () => unknown): SagaError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SagaError) return e;
    throw e;
  }
  throw new Error('expected a SagaError');
}

describe('project store', () => {
  it('creates a project, closes it, and reopens it with the same contents', () => {
    const dir = freshDir();
    const created = createProject(dir, { source, name: 'Guitar study' });
    const first = created.info();
    expect(first.name).toBe('Guitar study');
    expect(first.scene.count).toBe(source.count);
    expect(first.scene.checksum).toBe(source.checksum);
    expect(first.views.map((v) => v.name)).toEqual(['view-0', 'view-1', 'view-2']);
    expect(created.schemaVersion).toBe(SCHEMA_VERSION);
    expect(existsSync(created.cacheDir)).toBe(true);
    created.close();

    const reopened = openProject(dir);
    expect(reopened.info()).toEqual(first);
    // JSON keeps the numbers exactly (only -0 becomes 0).
    expect(reopened.views()[1]!.camera).toEqual(JSON.parse(JSON.stringify(source.views[1])));
    expect(reopened.scenePath).toBe(source.scenePath);
    reopened.close();

    const raw = new Database(join(dir, PROJECT_DB), { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
    // Nothing but the database and the cache: no temporary files left behind.
    expect(readdirSync(dir).filter((f) => !f.startsWith(PROJECT_DB)).sort()).toEqual(['cache']);
  });

  it('runs the migrations from an empty database (v0) to the current schema', () => {
    const db = new Database(':memory:');
    expect(db.pragma('user_version', { simple: true })).toBe(0);
    expect(migrate(db)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    expect(tables).toEqual(expect.arrayContaining(['meta', 'scene_source', 'views', 'layers', 'gaussian_state', 'edits']));
    expect(migrate(db)).toEqual([]);
    db.close();
  });

  it('upgrades a project written with schema v1 on open, keeping its data', () => {
    const dir = freshDir();
    createProject(dir, { source, migrations: MIGRATIONS.slice(0, 1) }).close();
    const before = new Database(join(dir, PROJECT_DB), { readonly: true });
    expect(before.pragma('user_version', { simple: true })).toBe(1);
    before.close();

    const project = openProject(dir);
    expect(project.schemaVersion).toBe(SCHEMA_VERSION);
    expect(project.views()).toHaveLength(3);
    expect(project.createLayer('guitar', '#FF8800')).toMatchObject({ id: 1, colour: '#ff8800', visible: true });
    project.close();
  });

  it('rolls a failing migration back and leaves the file at its old version', () => {
    const dir = freshDir();
    createProject(dir, { source }).close();
    const broken = [
      ...MIGRATIONS,
      { version: SCHEMA_VERSION + 1, description: 'fails halfway', up: (db: Database.Database) => { db.exec('CREATE TABLE half_done (x INTEGER)'); throw new Error('disk full'); } },
    ];
    expect(errorOf(() => openProject(dir, { migrations: broken })).code).toBe('PROJECT_CORRUPT');
    const project = openProject(dir);
    expect(project.schemaVersion).toBe(SCHEMA_VERSION);
    project.close();
    const raw = new Database(join(dir, PROJECT_DB), { readonly: true });
    expect(raw.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'half_done'").get()).toEqual({ n: 0 });
    raw.close();
  });

  it('refuses a database from a newer app and does not touch it', () => {
    const dir = freshDir();
    createProject(dir, { source }).close();
    const dbPath = join(dir, PROJECT_DB);
    const raw = new Database(dbPath);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    raw.close();
    const bytes = readFileSync(dbPath);
    const err = errorOf(() => openProject(dir));
    expect(err.code).toBe('PROJECT_TOO_NEW');
    expect(err.message).toMatch(/newer SAGA Studio/);
    expect(readFileSync(dbPath).equals(bytes)).toBe(true);
  });

  it.each([
    ['garbage bytes', (p: string) => writeFileSync(p, Buffer.alloc(8192, 0x5a))],
    ['a truncated database', (p: string) => truncateSync(p, 1000)],
    ['a SQLite file of another program', (p: string) => {
      rmSync(p);
      const other = new Database(p);
      other.exec('CREATE TABLE notes (body TEXT)');
      other.close();
    }],
  ])('reports %s as PROJECT_CORRUPT and never overwrites it', (_label, damage) => {
    const dir = freshDir();
    createProject(dir, { source }).close();
    const dbPath = join(dir, PROJECT_DB);
    damage(dbPath);
    const bytes = readFileSync(dbPath);
    const err = errorOf(() => openProject(dir));
    expect(err.code).toBe('PROJECT_CORRUPT');
    expect(err.message).toContain(dbPath);
    expect(readFileSync(dbPath).equals(bytes)).toBe(true);
    // Creating over it is refused too.
    expect(errorOf(() => createProject(dir, { source })).code).toBe('PROJECT_EXISTS');
    expect(readFileSync(dbPath).equals(bytes)).toBe(true);
  });

  it('says PROJECT_NOT_FOUND for a folder without a project and PROJECT_EXISTS when creating twice', () => {
    expect(errorOf(() => openProject(join(root, 'nowhere'))).code).toBe('PROJECT_NOT_FOUND');
    const dir = freshDir();
    createProject(dir, { source }).close();
    expect(errorOf(() => createProject(dir, { source })).code).toBe('PROJECT_EXISTS');
  });
});

describe('per-Gaussian state and edit history', () => {
  it('records, undoes and redoes state edits, drops the redo branch on a new edit, and survives reopening', () => {
    const dir = freshDir();
    let project = createProject(dir, { source });
    const count = source.count;
    const s0 = project.loadState();
    expect(s0.flags.every((f) => f === 0)).toBe(true);

    // Edit 1: put Gaussians 100..1099 into a new layer.
    const layer = project.createLayer('object', '#00aaff');
    const layersAfter = s0.layers.slice();
    layersAfter.fill(layer.id, 100, 1100);
    project.recordEdit({ kind: 'layer.assign', label: 'Add to object', change: { layers: stateDelta(s0.layers, layersAfter) }, data: { layer: layer.id } });

    // Edit 2: hide the even Gaussians of that range, delete the last one.
    const s1 = project.loadState();
    const flagsAfter = s1.flags.slice();
    for (let i = 100; i < 1100; i += 2) flagsAfter[i]! |= FLAG_HIDDEN;
    flagsAfter[count - 1]! |= FLAG_DELETED;
    project.recordEdit({ kind: 'state.hide', label: 'Hide', change: { flags: stateDelta(s1.flags, flagsAfter) } });
    expect(project.loadState().flags).toEqual(flagsAfter);

    const undone = project.undo()!;
    expect(undone.label).toBe('Hide');
    expect(project.loadState().flags).toEqual(s1.flags);
    expect(project.canRedo()).toBe(true);
    const redone = project.redo()!;
    expect(redone.label).toBe('Hide');
    expect(project.loadState().flags).toEqual(flagsAfter);

    // Undo both, then a new edit: the two undone edits are gone.
    project.undo();
    const layerUndo = project.undo()!;
    expect(layerUndo.data).toEqual({ layer: layer.id });
    expect(project.loadState().layers.every((l) => l === 0)).toBe(true);
    expect(project.undo()).toBeUndefined();
    const blank = project.loadState();
    const hideOne = blank.flags.slice();
    hideOne[5] = FLAG_HIDDEN;
    project.recordEdit({ kind: 'state.hide', label: 'Hide one', change: { flags: stateDelta(blank.flags, hideOne) } });
    expect(project.history().map((e) => [e.label, e.undone])).toEqual([['Hide one', false]]);
    expect(project.canRedo()).toBe(false);
    project.close();

    project = openProject(dir);
    expect(project.loadState().flags).toEqual(hideOne);
    expect(project.layers().map((l) => l.name)).toEqual(['object']);
    expect(project.undo()!.label).toBe('Hide one');
    expect(project.loadState().flags.every((f) => f === 0)).toBe(true);
    project.close();
  });

  it('refuses a state edit sized for another scene', () => {
    const project = createProject(freshDir(), { source });
    expect(() => project.recordEdit({ kind: 'x', label: 'x', change: { flags: new Uint8Array(3) } })).toThrow(SagaError);
    expect(project.history()).toEqual([]);
    project.close();
  });
});

describe('crash safety', () => {
  it('keeps an edit committed by a process that died without closing the database', async () => {
    const dir = freshDir();
    createProject(dir, { source }).close();
    const script = join(root, 'crash.mts');
    const store = new URL('./store.ts', import.meta.url).href;
    const state = new URL('./gaussian-state.ts', import.meta.url).href;
    writeFileSync(script, `
      import { openProject } from ${JSON.stringify(store)};
      import { stateDelta, FLAG_HIDDEN } from ${JSON.stringify(state)};
      const p = openProject(${JSON.stringify(dir)});
      const s = p.loadState();
      const after = s.flags.slice();
      after[7] = FLAG_HIDDEN;
      p.recordEdit({ kind: 'state.hide', label: 'before the crash', change: { flags: stateDelta(s.flags, after) } });
      process.exit(0); // no close(): the edit sits in the WAL file only
    `);
    const { status, stderr } = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8' });
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(existsSync(join(dir, `${PROJECT_DB}-wal`))).toBe(true);
    const project = openProject(dir);
    expect(project.history().map((e) => e.label)).toEqual(['before the crash']);
    expect(project.loadState().flags[7]).toBe(FLAG_HIDDEN);
    project.close();
  });
});

describe('project folder copies', () => {
  it('opens a copied project folder (the database is self-contained after close)', () => {
    const dir = freshDir();
    createProject(dir, { source }).close();
    const copy = freshDir();
    createProject(copy, { source }).close();
    copyFileSync(join(dir, PROJECT_DB), join(copy, PROJECT_DB));
    const p = openProject(copy);
    expect(p.info().scene.checksum).toBe(source.checksum);
    p.close();
  });
});

describe('failed creation', () => {
  it('leaves no half-made project folder when building the database fails', () => {
    const dir = freshDir();
    const failing = [{ version: 1, description: 'fails', up: () => { throw new Error('disk full'); } }];
    const err = errorOf(() => createProject(dir, { source, migrations: failing }));
    expect(err.code).toBe('WRITE_FAILED');
    expect(existsSync(dir)).toBe(false);
  });
});
