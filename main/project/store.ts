/**
 * The project store: a folder holding project.sqlite (better-sqlite3, WAL, foreign keys, versioned
 * schema) and cache/. It references the source scene and images and never modifies them.
 *
 * Safety rules: a file that is not a healthy SAGA Studio database is reported (PROJECT_CORRUPT) and
 * never written to; a database from a newer app is refused (PROJECT_TOO_NEW) before anything is
 * written; a new project is built under a temporary name and renamed into place when complete.
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
import { decodeRunsInto, encodeRuns, xorInto } from './gaussian-state.ts';
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
}

export interface LayerRecord {
  id: number;
  name: string;
  colour: string;
  visible: boolean;
  sortOrder: number;
  createdAt: string;
}

export interface EditRecord {
  id: number;
  kind: string;
  label: string;
  createdAt: string;
  undone: boolean;
}

/** Per-Gaussian state, decoded: flags (FLAG_HIDDEN | FLAG_DELETED) and layer id (0 = none). */
export interface GaussianState {
  flags: Uint8Array;
  layers: Uint16Array;
}

/** What one edit changes: XOR deltas per channel (stateDelta(before, after)); both optional. */
export interface StateChange {
  flags?: Uint8Array;
  layers?: Uint16Array;
}

export interface NewEdit {
  kind: string;
  label: string;
  change?: StateChange;
  /** Extra data the edit's kind needs (e.g. a layer's name and colour); JSON-serialisable. */
  data?: unknown;
}

/** An edit as undo/redo hands it back: the caller applies `change` (XOR) to its in-memory state too. */
export interface AppliedEdit extends EditRecord {
  change: StateChange;
  data?: unknown;
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

/** Open an existing project. Throws PROJECT_NOT_FOUND, PROJECT_CORRUPT or PROJECT_TOO_NEW. */
export function openProject(dir: string, options: OpenProjectOptions = {}): Project {
  const root = resolve(dir);
  const dbPath = join(root, PROJECT_DB);
  if (!existsSync(dbPath)) throw notFound(root);
  const migrations = options.migrations ?? MIGRATIONS;
  inspectDatabase(dbPath, migrations);
  let db: Database.Database | undefined;
  try {
    db = openReadWrite(dbPath);
    migrate(db, migrations);
    const project = new Project(root, db);
    project.sceneSource(); // a project without its scene row is not usable
    mkdirSync(project.cacheDir, { recursive: true });
    return project;
  } catch (e) {
    db?.close();
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

interface EditRow {
  id: number;
  kind: string;
  label: string;
  payload: Uint8Array | null;
  created_at: string;
  undone: number;
}

/** Edit payload: JSON header { flags?: byteLength, layers?: byteLength, data? } + the RLE deltas. */
function encodeEditPayload(edit: NewEdit): Uint8Array {
  const flags = edit.change?.flags ? encodeRuns(edit.change.flags) : undefined;
  const layers = edit.change?.layers ? encodeRuns(edit.change.layers) : undefined;
  const header = new TextEncoder().encode(JSON.stringify({ flags: flags?.length, layers: layers?.length, data: edit.data }));
  const out = new Uint8Array(4 + header.length + (flags?.length ?? 0) + (layers?.length ?? 0));
  new DataView(out.buffer).setUint32(0, header.length, true);
  out.set(header, 4);
  if (flags) out.set(flags, 4 + header.length);
  if (layers) out.set(layers, 4 + header.length + (flags?.length ?? 0));
  return out;
}

function decodeEditPayload(payload: Uint8Array, count: number, dbPath: string): { change: StateChange; data?: unknown } {
  try {
    const headerLength = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(0, true);
    const header = JSON.parse(new TextDecoder().decode(payload.subarray(4, 4 + headerLength))) as { flags?: number; layers?: number; data?: unknown };
    let pos = 4 + headerLength;
    const change: StateChange = {};
    if (header.flags !== undefined) {
      change.flags = decodeRunsInto(payload.subarray(pos, pos + header.flags), new Uint8Array(count)) as Uint8Array;
      pos += header.flags;
    }
    if (header.layers !== undefined) {
      change.layers = decodeRunsInto(payload.subarray(pos, pos + header.layers), new Uint16Array(count)) as Uint16Array;
    }
    return { change, data: header.data };
  } catch (e) {
    if (e instanceof SagaError) throw e;
    throw corrupt(dbPath, 'an edit in the history cannot be read', e);
  }
}

export class Project {
  readonly dbPath: string;
  readonly cacheDir: string;
  /** The feature-training record (training-record.ts). */
  readonly training: TrainingRecords;
  private closed = false;

  constructor(
    readonly dir: string,
    private readonly db: Database.Database,
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

  // --- layers -------------------------------------------------------------------------------

  layers(): LayerRecord[] {
    const rows = this.db.prepare('SELECT * FROM layers ORDER BY sort_order, id').all() as { id: number; name: string; colour: string; visible: number; sort_order: number; created_at: string }[];
    return rows.map((r) => ({ id: r.id, name: r.name, colour: r.colour, visible: r.visible === 1, sortOrder: r.sort_order, createdAt: r.created_at }));
  }

  createLayer(name: string, colour: string): LayerRecord {
    if (!/^#[0-9a-fA-F]{6}$/.test(colour)) throw new SagaError('BAD_ARGUMENT', `Layer colour '${colour}' is not of the form #rrggbb.`);
    const createdAt = new Date().toISOString();
    const next = this.db.prepare('SELECT COALESCE(MAX(id), 0) + 1 AS id FROM layers').get() as { id: number };
    if (next.id > 65535) throw new SagaError('BAD_ARGUMENT', 'A project holds at most 65535 layers. Merge or delete some first.');
    this.db.prepare('INSERT INTO layers (id, name, colour, visible, sort_order, created_at) VALUES (?, ?, ?, 1, ?, ?)').run(next.id, name, colour.toLowerCase(), next.id, createdAt);
    return { id: next.id, name, colour: colour.toLowerCase(), visible: true, sortOrder: next.id, createdAt };
  }

  // --- per-Gaussian state and edit history ------------------------------------------------------

  /** The current per-Gaussian state (zeros where nothing was ever recorded). */
  loadState(): GaussianState {
    const count = this.sceneSource().count;
    const state: GaussianState = { flags: new Uint8Array(count), layers: new Uint16Array(count) };
    const rows = this.db.prepare('SELECT channel, encoding, count, data FROM gaussian_state').all() as { channel: string; encoding: string; count: number; data: Uint8Array }[];
    for (const r of rows) {
      if (r.encoding !== 'rle-varint' || r.count !== count) throw corrupt(this.dbPath, `state channel '${r.channel}' does not match the scene`);
      if (r.channel === 'flags') decodeRunsInto(r.data, state.flags);
      else if (r.channel === 'layer') decodeRunsInto(r.data, state.layers);
    }
    return state;
  }

  private saveChannel(channel: 'flags' | 'layer', values: Uint8Array | Uint16Array): void {
    this.db
      .prepare("INSERT INTO gaussian_state (channel, encoding, count, data) VALUES (?, 'rle-varint', ?, ?) ON CONFLICT(channel) DO UPDATE SET encoding = excluded.encoding, count = excluded.count, data = excluded.data")
      .run(channel, values.length, encodeRuns(values));
  }

  private applyChange(change: StateChange): void {
    if (!change.flags && !change.layers) return;
    const state = this.loadState();
    if (change.flags) {
      xorInto(state.flags, change.flags);
      this.saveChannel('flags', state.flags);
    }
    if (change.layers) {
      xorInto(state.layers, change.layers);
      this.saveChannel('layer', state.layers);
    }
  }

  /**
   * Append an edit and apply its state change, in one transaction. Edits that were undone are
   * dropped first: after undo, a new edit ends the redo branch (as in SuperSplat).
   */
  recordEdit(edit: NewEdit): EditRecord {
    const createdAt = new Date().toISOString();
    const count = this.sceneSource().count;
    for (const d of [edit.change?.flags, edit.change?.layers]) {
      if (d && d.length !== count) throw new SagaError('INTERNAL', `An edit for ${d.length} Gaussians was recorded in a project of ${count}.`);
    }
    return this.db.transaction((): EditRecord => {
      this.db.prepare('DELETE FROM edits WHERE undone = 1').run();
      const info = this.db.prepare('INSERT INTO edits (kind, label, payload, created_at, undone) VALUES (?, ?, ?, ?, 0)').run(edit.kind, edit.label, encodeEditPayload(edit), createdAt);
      if (edit.change) this.applyChange(edit.change);
      return { id: Number(info.lastInsertRowid), kind: edit.kind, label: edit.label, createdAt, undone: false };
    })();
  }

  /** The history, oldest first; the cursor sits after the last edit with undone = false. */
  history(): EditRecord[] {
    const rows = this.db.prepare('SELECT id, kind, label, created_at, undone FROM edits ORDER BY id').all() as Omit<EditRow, 'payload'>[];
    return rows.map((r) => ({ id: r.id, kind: r.kind, label: r.label, createdAt: r.created_at, undone: r.undone === 1 }));
  }

  canUndo(): boolean {
    return this.db.prepare('SELECT 1 FROM edits WHERE undone = 0 LIMIT 1').get() !== undefined;
  }

  canRedo(): boolean {
    return this.db.prepare('SELECT 1 FROM edits WHERE undone = 1 LIMIT 1').get() !== undefined;
  }

  /** Undo the last done edit (its XOR change applied again); undefined when there is none. */
  undo(): AppliedEdit | undefined {
    return this.step('SELECT * FROM edits WHERE undone = 0 ORDER BY id DESC LIMIT 1', 1);
  }

  /** Redo the first undone edit; undefined when there is none. */
  redo(): AppliedEdit | undefined {
    return this.step('SELECT * FROM edits WHERE undone = 1 ORDER BY id ASC LIMIT 1', 0);
  }

  private step(select: string, undone: 0 | 1): AppliedEdit | undefined {
    return this.db.transaction((): AppliedEdit | undefined => {
      const row = this.db.prepare(select).get() as EditRow | undefined;
      if (!row) return undefined;
      const count = this.sceneSource().count;
      const { change, data } = row.payload ? decodeEditPayload(row.payload, count, this.dbPath) : { change: {}, data: undefined };
      this.applyChange(change);
      this.db.prepare('UPDATE edits SET undone = ? WHERE id = ?').run(undone, row.id);
      return { id: row.id, kind: row.kind, label: row.label, createdAt: row.created_at, undone: undone === 1, change, data };
    })();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

export { SCHEMA_VERSION };
