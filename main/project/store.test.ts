import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENES, sharedScene } from '../../e2e/fixtures.ts';
import { SagaError } from '../contract/errors.ts';
import { listLayers } from './layers.ts';
import { LOCK_FILE } from './lock.ts';
import { MIGRATIONS, SCHEMA_VERSION, migrate } from './schema.ts';
import { ProjectEditor } from './editor.ts';
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
    // Nothing but the database, the cache and the writers' lock: no temporary files left behind.
    expect(readdirSync(dir).filter((f) => !f.startsWith(PROJECT_DB)).sort()).toEqual(['cache', LOCK_FILE]);
  });

  it('runs the migrations from an empty database (v0) to the current schema', () => {
    const db = new Database(':memory:');
    expect(db.pragma('user_version', { simple: true })).toBe(0);
    expect(migrate(db)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    expect(tables).toEqual(expect.arrayContaining(['meta', 'scene_source', 'views', 'layers', 'state_snapshot', 'edits']));
    expect(tables).not.toContain('gaussian_state');
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
    // The editing tables of later schemas are there: a layer can be made from a selection.
    const editor = ProjectEditor.open(project);
    editor.select('replace', { bytes: Uint8Array.from({ length: source.count }, (_, i) => (i < 10 ? 1 : 0)) });
    editor.newLayer({ name: 'guitar', colour: '#FF8800' });
    expect(listLayers(project.db)).toMatchObject([{ id: 1, name: 'guitar', colour: '#ff8800', visible: true, locked: false }]);
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
