/**
 * The project database schema as an ordered list of migrations. `PRAGMA user_version` holds the
 * number of migrations applied; opening a project runs the missing ones in one transaction, so a
 * failed upgrade leaves the file as it was. Never edit a released migration: append a new one.
 */
import type Database from 'better-sqlite3';
import { decodeRunsInto, emptyChange, emptyState, encodeRuns, indicesWhere, type StateChange } from './gaussian-state.ts';
import { encodeEditPayload } from './history.ts';

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
  {
    version: 4,
    description: 'locked layers, per-Gaussian state as a snapshot plus sparse edit deltas',
    up(db) {
      db.exec(`
        ALTER TABLE layers ADD COLUMN locked INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1));

        -- Gaussians whose state an edit changes, for the history panel and the snapshot policy.
        ALTER TABLE edits ADD COLUMN touched INTEGER NOT NULL DEFAULT 0;

        -- The per-Gaussian state at one history position: after every edit with id <= at_edit and
        -- none after (0: before any edit). Opening replays the edits between it and the cursor.
        -- Channels run-length encoded (gaussian-state.ts): flags u8 (bit 0 hidden, bit 1 deleted),
        -- layers u16 (0 = none). No row: every Gaussian is 0 before the first edit.
        CREATE TABLE state_snapshot (
          id         INTEGER PRIMARY KEY CHECK (id = 1),
          at_edit    INTEGER NOT NULL,
          count      INTEGER NOT NULL,
          encoding   TEXT NOT NULL CHECK (encoding = 'rle-varint'),
          flags      BLOB NOT NULL,
          layers     BLOB NOT NULL,
          written_at TEXT NOT NULL
        ) STRICT;
      `);
      // Schemas 2 and 3 kept the current state in gaussian_state and each edit as a whole-channel XOR
      // (payload: u32 JSON length, JSON { flags?, layers? byte lengths }, the run-length encoded
      // deltas). Its state becomes the snapshot at the cursor and its edits sparse changes.
      const scene = db.prepare('SELECT count FROM scene_source WHERE id = 1').get() as { count: number } | undefined;
      const channels = db.prepare('SELECT channel, data FROM gaussian_state').all() as { channel: string; data: Uint8Array }[];
      const edits = db.prepare('SELECT id, payload, undone FROM edits ORDER BY id').all() as { id: number; payload: Uint8Array | null; undone: number }[];
      if (scene && (channels.length > 0 || edits.length > 0)) {
        const state = emptyState(scene.count);
        for (const c of channels) decodeRunsInto(c.data, c.channel === 'flags' ? state.flags : state.layers);
        const atEdit = edits.filter((e) => e.undone === 0).at(-1)?.id ?? 0;
        db.prepare("INSERT INTO state_snapshot (id, at_edit, count, encoding, flags, layers, written_at) VALUES (1, ?, ?, 'rle-varint', ?, ?, ?)")
          .run(atEdit, scene.count, encodeRuns(state.flags), encodeRuns(state.layers), new Date().toISOString());
        const update = db.prepare('UPDATE edits SET payload = ?, touched = ? WHERE id = ?');
        for (const e of edits) {
          const change = e.payload ? schema2Change(e.payload, scene.count) : emptyChange();
          update.run(encodeEditPayload({ change }), change.indices.length, e.id);
        }
      }
      db.exec('DROP TABLE gaussian_state');
    },
  },
];

/** A schema-2 (and 3) edit payload (whole-channel XOR deltas) as a sparse change. */
function schema2Change(payload: Uint8Array, count: number): StateChange {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const headerLength = view.getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(payload.subarray(4, 4 + headerLength))) as { flags?: number; layers?: number };
  let pos = 4 + headerLength;
  const flags = new Uint8Array(count);
  const layers = new Uint16Array(count);
  if (header.flags !== undefined) {
    decodeRunsInto(payload.subarray(pos, pos + header.flags), flags);
    pos += header.flags;
  }
  if (header.layers !== undefined) decodeRunsInto(payload.subarray(pos, pos + header.layers), layers);
  const indices = indicesWhere(count, (i) => flags[i] !== 0 || layers[i] !== 0);
  return { indices, flags: Uint8Array.from(indices, (i) => flags[i]!), layers: Uint16Array.from(indices, (i) => layers[i]!) };
}

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
