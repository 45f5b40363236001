/**
 * One writer per project. A program that writes a project (the app, `serve`, the CLI's prepare,
 * train and import) holds a lock on `<project>/project.lock` for as long as it has the project
 * open; a second writer is refused with PROJECT_LOCKED, naming the program that holds it.
 *
 * The lock is SQLite's own file lock (a RESERVED lock: a write transaction kept open on a small
 * database), not a pid written into a file: the operating system drops it when its process ends,
 * however it ends (kill -9, a crash, a power cut), so a stale lock cannot exist and no pid has to
 * be guessed alive. A reserved lock still lets others read the database, which is where the holder
 * leaves its name for the refusal message.
 *
 * Within one process the lock is shared: the backend's project and a training job's own handle on
 * the same folder count as one holder. The file is never deleted: a process waiting on an unlinked
 * file would hold a lock nobody else sees.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SagaError } from '../contract/errors.ts';

export const LOCK_FILE = 'project.lock';

/** Who holds a project's lock, as the holder wrote it. */
export interface LockOwner {
  /** What holds it, e.g. 'saga-studio serve' or 'SAGA Studio'. */
  program: string;
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  since: string;
}

interface Held {
  db: Database.Database;
  holders: number;
}

/** Locks this process holds, by project folder (resolved by the caller). */
const held = new Map<string, Held>();

/**
 * The name the holder gives itself in other programs' refusals: the CLI's command (its launcher
 * is main/host/bin.mjs, or the built out/cli/cli.js), else what the entry point set.
 */
let programName = /(bin\.mjs|cli\.js)$/.test(process.argv[1] ?? '') && process.argv[2] ? `saga-studio ${process.argv[2]}` : 'SAGA Studio';

/** Names this process in refusals other programs show ('SAGA Studio', 'saga-studio serve', ...). */
export function setLockProgramName(name: string): void {
  programName = name;
}

function isBusy(e: unknown): boolean {
  const code = e instanceof Error && 'code' in e ? String(e.code) : '';
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
}

function openLockDb(path: string): Database.Database {
  // timeout 0: a held lock is answered at once, never waited for.
  const db = new Database(path, { timeout: 0 });
  db.exec('CREATE TABLE IF NOT EXISTS owner (id INTEGER PRIMARY KEY CHECK (id = 1), program TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL, since TEXT NOT NULL)');
  return db;
}

function readOwner(db: Database.Database): LockOwner | undefined {
  try {
    return db.prepare('SELECT program, pid, host, since FROM owner WHERE id = 1').get() as LockOwner | undefined;
  } catch (e) {
    // The holder may be writing its name this very moment; the refusal then names nobody.
    if (isBusy(e)) return undefined;
    throw e;
  }
}

function lockedError(dir: string, owner: LockOwner | undefined): SagaError {
  const who = owner
    ? `${owner.program} (process ${owner.pid}${owner.host !== hostname() ? ` on ${owner.host}` : ''}, since ${owner.since.replace('T', ' ').slice(0, 19)})`
    : 'another SAGA Studio program';
  return new SagaError(
    'PROJECT_LOCKED',
    `The project ${dir} is open in ${who}. Two programs writing one project would lose edits: close it there first, then try again.`,
    { dir, ...(owner ? { owner } : {}) },
  );
}

function lockFailed(dir: string, e: unknown): SagaError {
  if (e instanceof SagaError) return e;
  const code = e instanceof Error && 'code' in e ? String(e.code) : '';
  if (code === 'SQLITE_CANTOPEN' || code.startsWith('SQLITE_READONLY') || code === 'SQLITE_PERM') {
    return new SagaError('PROJECT_READ_ONLY', `The project folder ${dir} cannot be written, so the project cannot be opened for editing. Make the folder writable, or copy the project to a folder you can write to.`, { dir, code }, { cause: e });
  }
  return new SagaError('WRITE_FAILED', `Could not lock the project ${dir} for editing: ${e instanceof Error ? e.message : String(e)}.`, { dir, code }, { cause: e });
}

/**
 * Takes the project's lock for this process (or joins this process's hold on it). Throws
 * PROJECT_LOCKED when another process holds it, PROJECT_READ_ONLY when the folder cannot be written.
 * Call release() once for every successful acquire.
 */
export function acquireProjectLock(dir: string): ProjectLockHandle {
  const mine = held.get(dir);
  if (mine) {
    mine.holders++;
    return new ProjectLockHandle(dir);
  }
  let db: Database.Database | undefined;
  try {
    db = openLockDb(join(dir, LOCK_FILE));
    // Our name goes in first and is committed, so that a refused program can read it; the lock
    // itself is the transaction begun after. Between the two another process may win the race:
    // then our BEGIN fails and we are refused, as if we had come second.
    try {
      db.transaction(() => {
        db!.prepare('INSERT OR REPLACE INTO owner (id, program, pid, host, since) VALUES (1, ?, ?, ?, ?)').run(programName, process.pid, hostname(), new Date().toISOString());
      }).immediate();
      db.exec('BEGIN IMMEDIATE');
    } catch (e) {
      if (isBusy(e)) throw lockedError(dir, readOwner(db));
      throw e;
    }
  } catch (e) {
    db?.close();
    throw lockFailed(dir, e);
  }
  held.set(dir, { db, holders: 1 });
  return new ProjectLockHandle(dir);
}

/** Who holds the project's lock now, if anyone (for messages and tests). */
export function projectLockOwner(dir: string): LockOwner | undefined {
  const mine = held.get(dir);
  if (mine) return readOwner(mine.db);
  let db: Database.Database | undefined;
  try {
    db = new Database(join(dir, LOCK_FILE), { timeout: 0, fileMustExist: true });
    try {
      db.exec('BEGIN IMMEDIATE');
      db.exec('ROLLBACK');
      return undefined;
    } catch (e) {
      if (isBusy(e)) return readOwner(db) ?? { program: 'unknown', pid: 0, host: '', since: '' };
      throw e;
    }
  } catch (e) {
    const code = e instanceof Error && 'code' in e ? String(e.code) : '';
    // No lock file: nobody ever opened the project for writing.
    if (code === 'SQLITE_CANTOPEN') return undefined;
    throw e;
  } finally {
    db?.close();
  }
}

/** One hold on a project's lock; the lock goes when the process's last hold is released. */
export class ProjectLockHandle {
  private released = false;

  constructor(readonly dir: string) {}

  release(): void {
    if (this.released) return;
    this.released = true;
    const mine = held.get(this.dir);
    if (!mine || --mine.holders > 0) return;
    held.delete(this.dir);
    mine.db.exec('ROLLBACK');
    mine.db.close();
  }
}
