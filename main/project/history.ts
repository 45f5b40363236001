/**
 * The edit history of a project and the per-Gaussian state it produces, kept in memory and written
 * as deltas.
 *
 * Model (SuperSplat's EditHistory, persisted): a list of steps with a cursor; steps before the
 * cursor are done, the rest can be redone; a new edit drops the redo branch. Each step is one row
 * of `edits`: a label, the sparse XOR change it makes to the per-Gaussian state, and the layer rows
 * (and the unassigned Gaussians' visibility) before and after it.
 *
 * At rest: the per-Gaussian state is a snapshot taken at some history position (`state_snapshot`)
 * plus the steps' changes; opening replays the changes between the snapshot and the cursor (XOR
 * deltas work in both directions). The snapshot is rewritten, in its own transaction, once the
 * replay would touch more Gaussians than the scene holds, so opening costs at most about two
 * passes over the scene whatever the history's length. Layer rows are written as they are at the
 * cursor, so they need no replay.
 *
 * Crash safety: every commit, undo, redo and goto is one SQLite transaction (WAL); memory is
 * changed only after it committed. The snapshot is always consistent with the rows it refers to,
 * so a crash at any moment reopens at the last committed step.
 */
import type Database from 'better-sqlite3';
import { SagaError } from '../contract/errors.ts';
import { applyChange, decodeChange, decodeRunsInto, emptyState, encodeChange, encodeRuns, type GaussianState, type StateChange } from './gaussian-state.ts';
import { putLayer, removeLayer, setUnassignedVisible, type LayerRecord } from './layers.ts';
import type { Project } from './store.ts';

/** A layer row before and after a step (null: the row does not exist). */
export interface LayerChange {
  id: number;
  before: LayerRecord | null;
  after: LayerRecord | null;
}

/** One edit, as the editor builds it and the history stores it. */
export interface Edit {
  kind: string;
  label: string;
  change: StateChange;
  layers?: LayerChange[];
  unassignedVisible?: { before: boolean; after: boolean };
}

/** A step of the history as the history panel lists it. */
export interface HistoryStep {
  id: number;
  kind: string;
  label: string;
  createdAt: string;
  /** Gaussians whose state the step changes. */
  touched: number;
}

/** What a commit, undo, redo or goto did, in the order it was applied. */
export interface Applied {
  /** The steps applied: done (commit, redo, goto forward) or undone (undo, goto back). */
  steps: HistoryStep[];
  undone: boolean;
  changes: StateChange[];
  /** Ids of the layers whose row changed. */
  layers: number[];
  unassignedChanged: boolean;
}

export interface HistoryOptions {
  /** Steps kept; older ones are folded into the snapshot and can no longer be undone. Default 1000. */
  maxSteps?: number;
  /** Gaussians the replay may touch before a new snapshot is written. Default: the scene's count. */
  snapshotAfter?: number;
}

export const DEFAULT_MAX_STEPS = 1000;

/** Steps between the snapshot and the cursor before a new snapshot is written, whatever their size. */
const SNAPSHOT_AFTER_STEPS = 256;

/** Payload format written by this version: 2 (1 was the whole-channel XOR of schema 2, migrated away). */
const PAYLOAD_VERSION = 2;

interface PayloadMeta {
  layers?: LayerChange[];
  unassignedVisible?: { before: boolean; after: boolean };
}

/** A step's payload as read back. */
type StepPayload = PayloadMeta & { change: StateChange };

/** An edit's payload at rest: version byte, u32 length of the JSON part, the JSON, the state change. */
export function encodeEditPayload(edit: Pick<Edit, 'change' | 'layers' | 'unassignedVisible'>): Uint8Array {
  const meta: PayloadMeta = {
    ...(edit.layers && edit.layers.length > 0 ? { layers: edit.layers } : {}),
    ...(edit.unassignedVisible ? { unassignedVisible: edit.unassignedVisible } : {}),
  };
  const json = new TextEncoder().encode(JSON.stringify(meta));
  const change = encodeChange(edit.change);
  const out = new Uint8Array(5 + json.length + change.length);
  out[0] = PAYLOAD_VERSION;
  new DataView(out.buffer).setUint32(1, json.length, true);
  out.set(json, 5);
  out.set(change, 5 + json.length);
  return out;
}

function decodeEditPayload(payload: Uint8Array, count: number, dbPath: string): StepPayload {
  try {
    if (payload.length < 5 || payload[0] !== PAYLOAD_VERSION) throw new Error(`unknown edit format ${payload[0]}`);
    const jsonLength = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(1, true);
    if (5 + jsonLength > payload.length) throw new Error('truncated edit');
    const meta = JSON.parse(new TextDecoder().decode(payload.subarray(5, 5 + jsonLength))) as PayloadMeta;
    return { ...meta, change: decodeChange(payload.subarray(5 + jsonLength), count) };
  } catch (e) {
    throw historyCorrupt(dbPath, `an edit in the history cannot be read: ${e instanceof Error ? e.message : String(e)}`, e);
  }
}

function historyCorrupt(dbPath: string, why: string, cause?: unknown): SagaError {
  return new SagaError(
    'PROJECT_CORRUPT',
    `The edit history in ${dbPath} is damaged (${why}). Restore the project folder from a backup, or create a new project from the scene.`,
    { path: dbPath },
    { cause },
  );
}

interface StepRow {
  id: number;
  kind: string;
  label: string;
  created_at: string;
  undone: number;
  touched: number;
}

export class EditHistory {
  private readonly db: Database.Database;
  private readonly count: number;
  private readonly maxSteps: number;
  private readonly snapshotAfter: number;
  private readonly steps: HistoryStep[];
  /** Steps [0, cursor) are done. */
  private position: number;
  /** The snapshot holds the state at this history position (an index into `steps`). */
  private snapshotPosition: number;

  private constructor(
    private readonly project: Project,
    /** The current per-Gaussian state. Read it freely; only the history changes it. */
    readonly state: GaussianState,
    steps: HistoryStep[],
    cursor: number,
    snapshotPosition: number,
    options: HistoryOptions,
  ) {
    this.db = project.db;
    this.count = state.flags.length;
    this.steps = steps;
    this.position = cursor;
    this.snapshotPosition = snapshotPosition;
    this.maxSteps = Math.max(1, options.maxSteps ?? DEFAULT_MAX_STEPS);
    this.snapshotAfter = options.snapshotAfter ?? this.count;
  }

  /** Loads the history and rebuilds the current state: the snapshot plus the steps after it. Writes nothing. */
  static open(project: Project, options: HistoryOptions = {}): EditHistory {
    const db = project.db;
    const count = project.sceneSource().count;
    const rows = db.prepare('SELECT id, kind, label, created_at, undone, touched FROM edits ORDER BY id').all() as StepRow[];
    const steps = rows.map((r) => ({ id: r.id, kind: r.kind, label: r.label, createdAt: r.created_at, touched: r.touched }));
    let cursor = 0;
    while (cursor < rows.length && rows[cursor]!.undone === 0) cursor++;
    if (rows.slice(cursor).some((r) => r.undone === 0)) throw historyCorrupt(project.dbPath, 'a done edit follows an undone one');

    const state = emptyState(count);
    const snap = db.prepare('SELECT at_edit, count, flags, layers FROM state_snapshot WHERE id = 1').get() as { at_edit: number; count: number; flags: Uint8Array; layers: Uint8Array } | undefined;
    let snapshotPosition = 0;
    if (snap) {
      if (snap.count !== count) throw historyCorrupt(project.dbPath, `the saved state is for ${snap.count} Gaussians, the scene has ${count}`);
      decodeRunsInto(snap.flags, state.flags);
      decodeRunsInto(snap.layers, state.layers);
      snapshotPosition = steps.filter((s) => s.id <= snap.at_edit).length;
      const last = steps.at(-1);
      if (last && snap.at_edit > last.id) throw historyCorrupt(project.dbPath, 'the saved state is newer than every edit');
    }
    const history = new EditHistory(project, state, steps, cursor, snapshotPosition, options);
    for (const change of history.changesBetween(snapshotPosition, cursor)) applyChange(state, change);
    return history;
  }

  get cursor(): number {
    return this.position;
  }

  get length(): number {
    return this.steps.length;
  }

  list(): { steps: HistoryStep[]; cursor: number } {
    return { steps: this.steps.map((s) => ({ ...s })), cursor: this.position };
  }

  /**
   * Records `edit` as the next step and applies it (one transaction). Undone steps are dropped
   * first. Returns undefined, recording nothing, when the edit changes nothing.
   */
  commit(edit: Edit): Applied | undefined {
    const layers = edit.layers ?? [];
    const unassigned = edit.unassignedVisible && edit.unassignedVisible.before !== edit.unassignedVisible.after ? edit.unassignedVisible : undefined;
    if (edit.change.indices.length === 0 && layers.length === 0 && !unassigned) return undefined;
    const createdAt = new Date().toISOString();
    const touched = edit.change.indices.length;
    const id = this.db.transaction((): number => {
      if (this.position < this.steps.length) {
        // The redo branch goes. A snapshot taken inside it would lose its way back: move it here.
        if (this.snapshotPosition > this.position) this.writeSnapshot(this.position);
        this.db.prepare('DELETE FROM edits WHERE id > ?').run(this.positionId(this.position));
      }
      const info = this.db
        .prepare('INSERT INTO edits (kind, label, payload, created_at, undone, touched) VALUES (?, ?, ?, ?, 0, ?)')
        .run(edit.kind, edit.label, encodeEditPayload({ change: edit.change, layers, ...(unassigned ? { unassignedVisible: unassigned } : {}) }), createdAt, touched);
      this.writeRows(layers, unassigned, false);
      return Number(info.lastInsertRowid);
    })();
    this.steps.splice(this.position);
    if (this.snapshotPosition > this.position) this.snapshotPosition = this.position;
    const step: HistoryStep = { id, kind: edit.kind, label: edit.label, createdAt, touched };
    this.steps.push(step);
    this.position = this.steps.length;
    applyChange(this.state, edit.change);
    this.maintain();
    return { steps: [step], undone: false, changes: [edit.change], layers: layers.map((l) => l.id), unassignedChanged: unassigned !== undefined };
  }

  /** Undoes the last done step; undefined (nothing happens) when there is none. */
  undo(): Applied | undefined {
    return this.goto(this.position - 1);
  }

  /** Redoes the first undone step; undefined when there is none. */
  redo(): Applied | undefined {
    return this.goto(this.position + 1);
  }

  /**
   * Moves the cursor to `position` (0 = before every step, length = after all), undoing or redoing
   * the steps between in one transaction. Undefined when the cursor is there already or out of range.
   */
  goto(position: number): Applied | undefined {
    if (!Number.isInteger(position) || position < 0 || position > this.steps.length || position === this.position) return undefined;
    const undone = position < this.position;
    const [from, to] = undone ? [position, this.position] : [this.position, position];
    const steps = this.steps.slice(from, to);
    const payloads = this.payloads(steps);
    if (undone) payloads.reverse();
    const layerIds = new Set<number>();
    let unassignedChanged = false;
    this.db.transaction(() => {
      for (const p of payloads) {
        this.writeRows(p.layers ?? [], p.unassignedVisible, undone);
        for (const l of p.layers ?? []) layerIds.add(l.id);
        if (p.unassignedVisible) unassignedChanged = true;
      }
      this.db.prepare('UPDATE edits SET undone = ? WHERE id >= ? AND id <= ?').run(undone ? 1 : 0, steps[0]!.id, steps.at(-1)!.id);
    })();
    for (const p of payloads) applyChange(this.state, p.change);
    this.position = position;
    this.maintain();
    return { steps: undone ? steps.reverse() : steps, undone, changes: payloads.map((p) => p.change), layers: [...layerIds], unassignedChanged };
  }

  /** The edit id a history position stands for: the last done step's id (ids grow, so "every edit up to it"). */
  private positionId(position: number): number {
    if (position > 0) return this.steps[position - 1]!.id;
    return (this.steps[0]?.id ?? 1) - 1;
  }

  private payloads(steps: HistoryStep[]): StepPayload[] {
    if (steps.length === 0) return [];
    const rows = this.db.prepare('SELECT id, payload FROM edits WHERE id >= ? AND id <= ? ORDER BY id').all(steps[0]!.id, steps.at(-1)!.id) as { id: number; payload: Uint8Array | null }[];
    if (rows.length !== steps.length) throw historyCorrupt(this.project.dbPath, 'edits are missing');
    return rows.map((r) => {
      if (!r.payload) throw historyCorrupt(this.project.dbPath, `edit ${r.id} has no data`);
      return decodeEditPayload(r.payload, this.count, this.project.dbPath);
    });
  }

  private changesBetween(a: number, b: number): StateChange[] {
    const [from, to] = a < b ? [a, b] : [b, a];
    return this.payloads(this.steps.slice(from, to)).map((p) => p.change);
  }

  private writeRows(layers: LayerChange[], unassigned: PayloadMeta['unassignedVisible'], undo: boolean): void {
    // Undo puts rows back in reverse order, so a step that touched one id twice ends where it began.
    const ordered = undo ? [...layers].reverse() : layers;
    for (const l of ordered) {
      const row = undo ? l.before : l.after;
      if (row) putLayer(this.db, row);
      else removeLayer(this.db, l.id);
    }
    if (unassigned) setUnassignedVisible(this.project, undo ? unassigned.before : unassigned.after);
  }

  private writeSnapshot(position: number): void {
    this.db
      .prepare(
        `INSERT INTO state_snapshot (id, at_edit, count, encoding, flags, layers, written_at) VALUES (1, ?, ?, 'rle-varint', ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET at_edit = excluded.at_edit, count = excluded.count, encoding = excluded.encoding, flags = excluded.flags, layers = excluded.layers, written_at = excluded.written_at`,
      )
      .run(this.positionId(position), this.count, encodeRuns(this.state.flags), encodeRuns(this.state.layers), new Date().toISOString());
  }

  /**
   * Keeps opening fast and the history bounded: a new snapshot at the cursor when the replay grew
   * past its budget, and the oldest steps beyond maxSteps folded in. Its own transaction, after the
   * step's: a failure here loses nothing (the old snapshot and every step are still there).
   */
  private maintain(): void {
    const [from, to] = this.snapshotPosition < this.position ? [this.snapshotPosition, this.position] : [this.position, this.snapshotPosition];
    let replay = 0;
    for (let k = from; k < to; k++) replay += this.steps[k]!.touched;
    const snapshot = replay > this.snapshotAfter || to - from > SNAPSHOT_AFTER_STEPS;
    // Only done steps are folded in (after a commit the cursor is at the end, so that is all of them).
    const drop = Math.min(this.position, Math.max(0, this.steps.length - this.maxSteps));
    if (!snapshot && drop === 0) return;
    try {
      this.db.transaction(() => {
        // Dropped steps can only go once the snapshot is past them.
        if (snapshot || this.snapshotPosition < drop) this.writeSnapshot(this.position);
        if (drop > 0) this.db.prepare('DELETE FROM edits WHERE id <= ?').run(this.steps[drop - 1]!.id);
      })();
    } catch (e) {
      console.warn(`Could not compact the edit history of ${this.project.dir} (it stays correct, opening may be slower): ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    if (snapshot || this.snapshotPosition < drop) this.snapshotPosition = this.position;
    if (drop > 0) {
      this.steps.splice(0, drop);
      this.position -= drop;
      this.snapshotPosition -= drop;
    }
  }
}
