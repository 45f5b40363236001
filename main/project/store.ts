/**
 * Opening and creating projects: a folder holding project.sqlite (better-sqlite3, WAL, foreign
 * keys, versioned schema) and cache/. It references the source scene and images and never
 * modifies them. Layers are in layers.ts, the edit history and per-Gaussian state in history.ts.
 *
 * Safety rules: a file that is not a healthy SAGA Studio database is reported (PROJECT_CORRUPT) and
 * never written to; a database from a newer app is refused (PROJECT_TOO_NEW) before anything is
 * written; a new project is built under a temporary name and renamed into place when complete.
 * One program writes a project at a time: opening for writing takes the project's lock (lock.ts);
 * readers (export, render) open the database read-only and take no lock.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { ProjectInfo, ViewInfo } from '../contract/api.ts';
import { SagaError } from '../contract/errors.ts';
import { APP_VERSION } from '../contract/version.ts';
import type { Camera } from '../scene/camera.ts';
import type { SceneFormat, ShDegree } from '../scene/gaussians.ts';
import { acquireProjectLock, type ProjectLockHandle } from './lock.ts';
import { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, migrate, type Migration } from './schema.ts';
import { readSettings } from './settings.ts';
import { TrainingRecords } from './training-record.ts';

export const PROJECT_DB = 'project.sqlite';
export const CACHE_DIR = 'cache';
export { APP_VERSION };

/** Everything a project records about its source scene, resolved before the project is written. */
export interface ProjectSource {
  scenePath: string;
  format: SceneFormat;
  count: number;
  shDegree: ShDegree;
  /** File size in bytes. */
  bytes: number;
  /** sha256 of the scene file, hex. */
  checksum: string;
  bounds: { min: [number, number, number]; max: [number, number, number] };
  properties: string[];
  imagesDir?: string;
  /** Training views, image paths absolute. */
  views: Camera[];
}

export interface CreateProjectOptions {
  source: ProjectSource;
  /** Defaults to the folder name. */
  name?: string;
  appVersion?: string;
  /** Test hook: the migrations to build the schema with. */
  migrations?: readonly Migration[];
}

export interface OpenProjectOptions {
  migrations?: readonly Migration[];
  /**
   * 'write' (default): take the project's lock (PROJECT_LOCKED while another program writes it),
   * migrate an older schema. 'read': no lock, the database opened read-only, nothing written; for
   * commands that only read a project (export, render), which may run while the app has it open.
   */
  access?: 'write' | 'read';
}

function notFound(dir: string): SagaError {
  return new SagaError('PROJECT_NOT_FOUND', `No SAGA Studio project at ${dir} (it has no ${PROJECT_DB}). Choose a project folder, or create a project from a scene.`, { dir });
}

function corrupt(dbPath: string, why: string, cause?: unknown): SagaError {
  return new SagaError(
    'PROJECT_CORRUPT',
    `The project database ${dbPath} is damaged or is not a SAGA Studio project (${why}). It was left untouched: restore it from a backup, or create a new project from the scene.`,
    { path: dbPath },
    { cause },
  );
}

function sqliteCode(e: unknown): string {
  return e instanceof Error && 'code' in e ? String(e.code) : '';
}

/**
 * Open the file read-only and check it is a healthy project database this app can read.
 * Read-only so that nothing (not even WAL mode or a migration) touches a file we may refuse.
 */
function inspectDatabase(dbPath: string, migrations: readonly Migration[]): { version: number } {
  let db: Database.Database | undefined;
  try {
    db = new Database(dbPath, { readonly: true, fileMustExist: true });
    const version = db.pragma('user_version', { simple: true }) as number;
    const appId = db.pragma('application_id', { simple: true }) as number;
    if (appId !== APPLICATION_ID) throw corrupt(dbPath, 'not a SAGA Studio database');
    const latest = migrations[migrations.length - 1]?.version ?? 0;
    if (version > latest) {
      throw new SagaError(
        'PROJECT_TOO_NEW',
        `The project at ${dbPath} was saved by a newer SAGA Studio (schema ${version}; this app reads up to ${latest}). Update SAGA Studio to open it; the file was left untouched.`,
        { path: dbPath, version, supported: latest },
      );
    }
    const check = db.pragma('quick_check', { simple: true }) as string;
    if (check !== 'ok') throw corrupt(dbPath, `integrity check: ${check}`);
    return { version };
  } catch (e) {
    if (e instanceof SagaError) throw e;
    const code = sqliteCode(e);
    if (code === 'SQLITE_CANTOPEN') throw new SagaError('FILE_UNREADABLE', `Cannot open ${dbPath}. Check the folder's permissions.`, { path: dbPath }, { cause: e });
    throw corrupt(dbPath, e instanceof Error ? e.message : String(e), e);
  } finally {
    db?.close();
  }
}

function openReadWrite(dbPath: string): Database.Database {
  const db = new Database(dbPath, { fileMustExist: true });
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  // WAL with synchronous=NORMAL keeps every committed edit across an app crash; an OS crash may lose
  // the last few, never corrupt the file.
  db.pragma('synchronous = NORMAL');
  return db;
}

/**
 * Open an existing project. Throws PROJECT_NOT_FOUND, PROJECT_CORRUPT, PROJECT_TOO_NEW, and for
 * writing PROJECT_LOCKED (another program has it open) or PROJECT_READ_ONLY.
 */
export function openProject(dir: string, options: OpenProjectOptions = {}): Project {
  const root = resolve(dir);
  const dbPath = join(root, PROJECT_DB);
  if (!existsSync(dbPath)) throw notFound(root);
  const migrations = options.migrations ?? MIGRATIONS;
  const { version } = inspectDatabase(dbPath, migrations);
  if (options.access === 'read') return openForReading(root, dbPath, version, migrations);
  // Before anything is written, and held until the project is closed.
  const lock = acquireProjectLock(root);
  let db: Database.Database | undefined;
  try {
    db = openReadWrite(dbPath);
    migrate(db, migrations);
    const project = new Project(root, db, lock);
    project.sceneSource(); // a project without its scene row is not usable
    mkdirSync(project.cacheDir, { recursive: true });
    return project;
  } catch (e) {
    db?.close();
    lock.release();
    if (e instanceof SagaError) throw e;
    throw corrupt(dbPath, e instanceof Error ? e.message : String(e), e);
  }
}

function openForReading(root: string, dbPath: string, version: number, migrations: readonly Migration[]): Project {
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  if (version < latest) {
    throw new SagaError('PROJECT_CORRUPT', `The project at ${root} was saved by an older SAGA Studio and must be upgraded first: open it once in the app (or with 'saga-studio prepare'), then try again.`, { dir: root, version, latest });
  }
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const project = new Project(root, db);
    project.sceneSource();
    return project;
  } catch (e) {
    db.close();
    if (e instanceof SagaError) throw e;
    throw corrupt(dbPath, e instanceof Error ? e.message : String(e), e);
  }
}

/**
 * Create a project folder (made if missing) for a resolved source. Throws PROJECT_EXISTS when the
 * folder already holds a project database (healthy or not: we never overwrite one).
 */
export function createProject(dir: string, options: CreateProjectOptions): Project {
  const root = resolve(dir);
  const dbPath = join(root, PROJECT_DB);
  if (existsSync(root) && !statSync(root).isDirectory()) {
    throw new SagaError('BAD_ARGUMENT', `${root} is a file; a project is a folder. Choose a folder path.`, { dir: root });
  }
  if (existsSync(dbPath)) {
    throw new SagaError('PROJECT_EXISTS', `${root} already holds a project. Open it instead, or choose an empty folder.`, { dir: root });
  }
  const rootExisted = existsSync(root);
  mkdirSync(join(root, CACHE_DIR), { recursive: true });
  const tmpPath = `${dbPath}.tmp-${randomBytes(6).toString('hex')}`;
  const { source } = options;
  const now = new Date().toISOString();
  try {
    // Built in rollback-journal mode and switched to WAL on open, so the finished file is one file
    // that can be renamed into place.
    const db = new Database(tmpPath);
    try {
      db.pragma('foreign_keys = ON');
      migrate(db, options.migrations ?? MIGRATIONS);
      db.transaction(() => {
        const meta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
        meta.run('name', options.name ?? basename(root));
        meta.run('created_at', now);
        meta.run('app_version', options.appVersion ?? APP_VERSION);
        db.prepare(
          `INSERT INTO scene_source (id, path, checksum, format, count, sh_degree, bytes, bounds, properties, images_dir, added_at)
           VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          resolve(source.scenePath),
          source.checksum,
          source.format,
          source.count,
          source.shDegree,
          source.bytes,
          JSON.stringify(source.bounds),
          JSON.stringify(source.properties),
          source.imagesDir ?? null,
          now,
        );
        const view = db.prepare('INSERT INTO views (name, camera, image_path) VALUES (?, ?, ?)');
        for (const cam of source.views) view.run(cam.name, JSON.stringify(cam), cam.imagePath ?? null);
      })();
    } finally {
      db.close();
    }
    if (existsSync(dbPath)) {
      throw new SagaError('PROJECT_EXISTS', `${root} already holds a project. Open it instead, or choose an empty folder.`, { dir: root });
    }
    renameSync(tmpPath, dbPath);
  } catch (e) {
    rmSync(tmpPath, { force: true });
    rmSync(`${tmpPath}-journal`, { force: true });
    // Leave no half-made project folder behind; a folder the user chose stays.
    if (!rootExisted) rmSync(root, { recursive: true, force: true });
    else if (isEmptyDir(join(root, CACHE_DIR))) rmSync(join(root, CACHE_DIR), { recursive: true, force: true });
    if (e instanceof SagaError) throw e;
    const code = e instanceof Error && 'code' in e ? String(e.code) : '';
    throw new SagaError('WRITE_FAILED', `Could not create the project in ${root}: ${e instanceof Error ? e.message : String(e)}. Choose another folder.`, { dir: root, code }, { cause: e });
  }
  return openProject(root, { migrations: options.migrations });
}

/**
 * The error for a write to an open project that SQLite refused: the folder made read-only, a full
 * disk, an I/O error. The transaction was rolled back, so nothing of the edit is kept, in the file
 * or in memory (the history changes memory only after a commit). Other errors come back unchanged.
 */
export function projectWriteError(dir: string, e: unknown): unknown {
  const code = e instanceof Error && 'code' in e ? String(e.code) : '';
  if (code.startsWith('SQLITE_READONLY') || code === 'SQLITE_PERM' || code === 'SQLITE_CANTOPEN') {
    return new SagaError('PROJECT_READ_ONLY', `The project folder ${dir} cannot be written any more (was it made read-only?), so this change was not saved and nothing was changed. Make the folder writable again, then repeat it.`, { dir, code }, { cause: e });
  }
  if (code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR')) {
    const why = code === 'SQLITE_FULL' ? 'the disk is full' : 'the disk reported an error';
    return new SagaError('WRITE_FAILED', `Could not save this change to the project in ${dir}: ${why}. Nothing was changed; free some space or check the disk, then repeat it.`, { dir, code }, { cause: e });
  }
  return e;
}

/** True when `dir` is a folder holding a project database. */
export function isProjectDir(dir: string): boolean {
  return existsSync(join(dir, PROJECT_DB));
}

/** True when `dir` is missing or an empty folder. */
export function isEmptyDir(dir: string): boolean {
  return !existsSync(dir) || (statSync(dir).isDirectory() && readdirSync(dir).length === 0);
}

interface SceneSourceRow {
  path: string;
  checksum: string;
  format: string;
  count: number;
  sh_degree: number;
  bytes: number;
  bounds: string;
  properties: string;
  images_dir: string | null;
  added_at: string;
}

/**
 * An open project: its folder, database and what it records about the source scene and views.
 * Layers (layers.ts) and the edit history with the per-Gaussian state (history.ts) work on `db`.
 */
export class Project {
  readonly dbPath: string;
  readonly cacheDir: string;
  /** The feature-training record (training-record.ts). */
  readonly training: TrainingRecords;
  private closed = false;

  constructor(
    readonly dir: string,
    /** The open database, for the store's own modules (layers, history); others use the methods. */
    readonly db: Database.Database,
    /** This program's hold on the project's lock (absent: opened read-only). */
    private readonly lock?: ProjectLockHandle,
  ) {
    this.dbPath = join(dir, PROJECT_DB);
    this.cacheDir = join(dir, CACHE_DIR);
    this.training = new TrainingRecords(db);
  }

  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  get scenePath(): string {
    return this.sceneSource().scenePath;
  }

  meta(key: string): string | undefined {
    const row = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value;
  }

  /** Sets meta rows (settings.ts keeps the UI's settings here), all in one transaction. */
  setMeta(entries: Readonly<Record<string, string>>): void {
    const upsert = this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    this.db.transaction(() => {
      for (const [key, value] of Object.entries(entries)) upsert.run(key, value);
    })();
  }

  sceneSource(): Omit<ProjectSource, 'views'> & { addedAt: string } {
    const row = this.db.prepare('SELECT * FROM scene_source WHERE id = 1').get() as SceneSourceRow | undefined;
    if (!row) throw corrupt(this.dbPath, 'it records no scene');
    return {
      scenePath: row.path,
      checksum: row.checksum,
      format: row.format as SceneFormat,
      count: row.count,
      shDegree: row.sh_degree as ShDegree,
      bytes: row.bytes,
      bounds: JSON.parse(row.bounds) as ProjectSource['bounds'],
      properties: JSON.parse(row.properties) as string[],
      imagesDir: row.images_dir ?? undefined,
      addedAt: row.added_at,
    };
  }

  views(): ViewInfo[] {
    const rows = this.db.prepare('SELECT id, name, camera, image_path FROM views ORDER BY id').all() as { id: number; name: string; camera: string; image_path: string | null }[];
    return rows.map((r) => ({ id: r.id, name: r.name, camera: JSON.parse(r.camera) as Camera, ...(r.image_path ? { imagePath: r.image_path } : {}) }));
  }

  info(): ProjectInfo {
    const s = this.sceneSource();
    const views = this.views();
    return {
      dir: this.dir,
      name: this.meta('name') ?? basename(this.dir),
      createdAt: this.meta('created_at') ?? s.addedAt,
      scene: { path: s.scenePath, format: s.format, count: s.count, shDegree: s.shDegree, bounds: s.bounds, properties: s.properties, checksum: s.checksum },
      views,
      settings: readSettings(this),
      ...(s.imagesDir ? { imagesDir: s.imagesDir } : {}),
      missingImages: views.filter((v) => v.imagePath === undefined || !existsSync(v.imagePath)).map((v) => v.name),
    };
  }

  /** False when opened read-only (access 'read'). */
  get writable(): boolean {
    return this.lock !== undefined;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
    this.lock?.release();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

export { SCHEMA_VERSION };
