/**
 * The project database schema as an ordered list of migrations. `PRAGMA user_version` holds the
 * number of migrations applied; opening a project runs the missing ones in one transaction, so a
 * failed upgrade leaves the file as it was. Never edit a released migration: append a new one.
 */
import type Database from 'better-sqlite3';

export interface Migration {
  /** The user_version after this migration. */
  version: number;
  description: string;
  up(db: Database.Database): void;
}

/** 'SAGA' as a big-endian int: marks a SQLite file as a SAGA Studio project (PRAGMA application_id). */
export const APPLICATION_ID = 0x53414741;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'project metadata, scene source, views',
    up(db) {
      db.exec(`
        CREATE TABLE meta (
          key   TEXT PRIMARY KEY,
          value TEXT NOT NULL
        ) STRICT;

        -- The scene the project edits. Referenced, never modified; checksum detects a changed file.
        CREATE TABLE scene_source (
          id         INTEGER PRIMARY KEY CHECK (id = 1),
          path       TEXT NOT NULL,
          checksum   TEXT NOT NULL,
          format     TEXT NOT NULL,
          count      INTEGER NOT NULL CHECK (count > 0),
          sh_degree  INTEGER NOT NULL CHECK (sh_degree BETWEEN 0 AND 3),
          bytes      INTEGER NOT NULL,
          bounds     TEXT NOT NULL,   -- JSON { min, max }
          properties TEXT NOT NULL,   -- JSON string[]
          images_dir TEXT,
          added_at   TEXT NOT NULL
        ) STRICT;

        -- Training views: camera as JSON (main/scene/camera.ts), image path as found at import.
        CREATE TABLE views (
          id         INTEGER PRIMARY KEY,
          name       TEXT NOT NULL UNIQUE,
          camera     TEXT NOT NULL,
          image_path TEXT
        ) STRICT;
      `);
    },
  },
  {
    version: 2,
    description: 'layers, per-Gaussian state, edit history',
    up(db) {
      db.exec(`
        -- Layer 0 is reserved for "no layer" in the per-Gaussian layer channel, so ids start at 1
        -- and must fit the channel's u16.
        CREATE TABLE layers (
          id         INTEGER PRIMARY KEY CHECK (id BETWEEN 1 AND 65535),
          name       TEXT NOT NULL,
          colour     TEXT NOT NULL,   -- '#rrggbb'
          visible    INTEGER NOT NULL DEFAULT 1 CHECK (visible IN (0, 1)),
          sort_order INTEGER NOT NULL DEFAULT 0,
          created_at TEXT NOT NULL
        ) STRICT;

        -- Current per-Gaussian state, one row per channel, run-length encoded (gaussian-state.ts):
        -- 'flags' (u8: bit 0 hidden, bit 1 deleted) and 'layer' (u16 layer id, 0 = none).
        -- A million Gaussians with a few layers encode to a few hundred bytes.
        CREATE TABLE gaussian_state (
          channel  TEXT PRIMARY KEY CHECK (channel IN ('flags', 'layer')),
          encoding TEXT NOT NULL,
          count    INTEGER NOT NULL,
          data     BLOB NOT NULL
        ) STRICT;

        -- Edit history with a cursor (SuperSplat's EditHistory, persisted): edits are ordered by id;
        -- done edits come first, undone ones after (the redo stack). A new edit deletes the undone
        -- ones. A state edit's payload is the XOR of before and after per channel, so the same
        -- payload applied again undoes it, and redo applies it once more.
        CREATE TABLE edits (
          id         INTEGER PRIMARY KEY AUTOINCREMENT,
          kind       TEXT NOT NULL,
          label      TEXT NOT NULL,
          payload    BLOB,
          created_at TEXT NOT NULL,
          undone     INTEGER NOT NULL DEFAULT 0 CHECK (undone IN (0, 1))
        ) STRICT;
        CREATE INDEX edits_by_state ON edits (undone, id);
      `);
    },
  },
  {
    version: 3,
    description: 'feature training record and loss history',
    up(db) {
      db.exec(`
        -- The project's feature training: one record, updated at each checkpoint. The trained
        -- features themselves are in training/checkpoint-<iteration>.bin (project/checkpoints.ts).
        -- masks_key names the prepared masks trained on: when views are prepared again, the key of
        -- the cache changes and the features are stale.
        CREATE TABLE training (
          id          INTEGER PRIMARY KEY CHECK (id = 1),
          state       TEXT NOT NULL CHECK (state IN ('running', 'paused', 'stopped', 'done', 'failed')),
          iteration   INTEGER NOT NULL,
          iterations  INTEGER NOT NULL,
          seed        INTEGER NOT NULL,
          options     TEXT NOT NULL,   -- JSON: the run's switches and settings
          masks_key   TEXT NOT NULL,
          error       TEXT,            -- JSON SagaErrorData of a failed run
          started_at  TEXT NOT NULL,
          updated_at  TEXT NOT NULL
        ) STRICT;

        -- Mean losses over spans of iterations, for the training plot after a reopen.
        CREATE TABLE training_losses (
          iteration INTEGER PRIMARY KEY,
          guidance  REAL NOT NULL,
          corr      REAL NOT NULL
        ) STRICT;
      `);
    },
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/**
 * Bring `db` from its user_version up to the last of `migrations` in one transaction.
 * Returns the versions applied. The caller has checked that the file is not newer than the app.
 */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  const current = db.pragma('user_version', { simple: true }) as number;
  const pending = migrations.filter((m) => m.version > current);
  if (pending.length === 0) return [];
  db.transaction(() => {
    for (const m of pending) {
      m.up(db);
      // PRAGMA cannot take bound parameters; the version is our own integer.
      db.pragma(`user_version = ${Math.trunc(m.version)}`);
    }
    db.pragma(`application_id = ${APPLICATION_ID}`);
  })();
  return pending.map((m) => m.version);
}
