import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENES, sharedScene } from '../../e2e/fixtures.ts';
import { mulberry32 } from '../common/random.ts';
import { FLAG_DELETED, FLAG_HIDDEN, changeFor, emptyChange, encodeRuns, indicesWhere, type GaussianState } from './gaussian-state.ts';
import { EditHistory, type Edit } from './history.ts';
import { listLayers, unassignedVisible, type LayerRecord } from './layers.ts';
import { MIGRATIONS } from './schema.ts';
import { PROJECT_DB, createProject, openProject, type Project, type ProjectSource } from './store.ts';
import { plySource } from './test-source.ts';

let root: string;
let source: ProjectSource;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'saga-history-'));
  source = await plySource(sharedScene(SCENES.inria));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
const freshProject = (options: { migrations?: typeof MIGRATIONS } = {}) => createProject(join(root, `p${n++}`), { source, ...options });

function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function sameState(a: GaussianState, b: GaussianState): boolean {
  return sameBytes(a.flags, b.flags) && sameBytes(a.layers, b.layers);
}

function copy(s: GaussianState): GaussianState {
  return { flags: s.flags.slice(), layers: s.layers.slice() };
}

const layer = (id: number, name: string, extra: Partial<LayerRecord> = {}): LayerRecord => ({ id, name, colour: '#00aaff', visible: true, locked: false, sortOrder: id, createdAt: '2025-01-01T00:00:00.000Z', ...extra });

/** Deletes Gaussians [from, to). */
function deleteRange(h: EditHistory, from: number, to: number): Edit {
  return { kind: 'selection.delete', label: `Delete ${from}..${to}`, change: changeFor(h.state, indicesWhere(h.state.flags.length, (i) => i >= from && i < to), { setFlags: FLAG_DELETED }) };
}

/** Reopens the project on a second connection and returns its history (the state a restart would see). */
function reopened(project: Project): EditHistory {
  const other = openProject(project.dir);
  try {
    return EditHistory.open(other);
  } finally {
    other.close();
  }
}

describe('edit history', () => {
  it('commits, undoes, redoes and goes to any step; a new edit drops the redo branch', () => {
    const project = freshProject();
    const h = EditHistory.open(project);
    const s0 = copy(h.state);
    const first = h.commit(deleteRange(h, 100, 200))!;
    expect(first.steps[0]!.label).toBe('Delete 100..200');
    expect(first.steps[0]!.touched).toBe(100);
    const s1 = copy(h.state);
    const l1 = layer(1, 'object');
    h.commit({ kind: 'layer.new', label: 'New layer', change: changeFor(h.state, indicesWhere(source.count, (i) => i >= 150 && i < 400), { layer: 1 }), layers: [{ id: 1, before: null, after: l1 }] });
    const s2 = copy(h.state);
    expect(listLayers(project.db)).toEqual([l1]);
    h.commit({ kind: 'layer.hide', label: 'Hide', change: emptyChange(), layers: [{ id: 1, before: l1, after: { ...l1, visible: false } }], unassignedVisible: { before: true, after: false } });
    expect(listLayers(project.db)[0]!.visible).toBe(false);
    expect(unassignedVisible(project)).toBe(false);
    expect(h.list().cursor).toBe(3);

    const undone = h.undo()!;
    expect(undone.undone).toBe(true);
    expect(undone.unassignedChanged).toBe(true);
    expect(listLayers(project.db)[0]!.visible).toBe(true);
    expect(unassignedVisible(project)).toBe(true);
    h.undo();
    expect(sameState(h.state, s1)).toBe(true);
    expect(listLayers(project.db)).toEqual([]);
    h.redo();
    expect(sameState(h.state, s2)).toBe(true);
    expect(listLayers(project.db)).toEqual([l1]);

    // Go to the start in one move, then to the end.
    const back = h.goto(0)!;
    expect(back.steps.map((s) => s.label)).toEqual(['New layer', 'Delete 100..200']);
    expect(sameState(h.state, s0)).toBe(true);
    expect(h.undo()).toBeUndefined();
    h.goto(3);
    expect(h.list().cursor).toBe(3);
    expect(unassignedVisible(project)).toBe(false);
    expect(sameState(reopened(project).state, h.state)).toBe(true);

    // Back to step 1, then a new edit: steps 2 and 3 are gone, and so is the layer row.
    h.goto(1);
    h.commit(deleteRange(h, 5000, 5010));
    expect(h.list().steps.map((s) => s.label)).toEqual(['Delete 100..200', 'Delete 5000..5010']);
    expect(h.redo()).toBeUndefined();
    const again = reopened(project);
    expect(again.list()).toEqual(h.list());
    expect(sameState(again.state, h.state)).toBe(true);
    project.close();
  });

  it('records nothing for an edit that changes nothing', () => {
    const project = freshProject();
    const h = EditHistory.open(project);
    expect(h.commit({ kind: 'x', label: 'nothing', change: emptyChange() })).toBeUndefined();
    expect(h.commit({ kind: 'x', label: 'same', change: emptyChange(), unassignedVisible: { before: true, after: true } })).toBeUndefined();
    expect(h.length).toBe(0);
    project.close();
  });

  it('reopens at the same state after random edits, undos and jumps, with snapshots taken along the way', () => {
    const project = freshProject();
    // A tiny snapshot budget, so snapshots are rewritten often, also inside the redo branch.
    const h = EditHistory.open(project, { snapshotAfter: 500 });
    const r = mulberry32(5);
    for (let op = 0; op < 80; op++) {
      const roll = r();
      if (roll < 0.45) {
        const from = Math.floor(r() * source.count);
        const len = 1 + Math.floor(r() * 400);
        const flags = r() < 0.5 ? FLAG_DELETED : FLAG_HIDDEN;
        const indices = indicesWhere(source.count, (i) => i >= from && i < from + len && r() < 0.7);
        h.commit({ kind: 'state', label: `op ${op}`, change: changeFor(h.state, indices, { setFlags: flags, layer: Math.floor(r() * 4) }) });
      } else if (roll < 0.7) h.undo();
      else if (roll < 0.85) h.redo();
      else h.goto(Math.floor(r() * (h.length + 1)));
      if (op % 8 === 7) {
        const again = reopened(project);
        expect(again.list()).toEqual(h.list());
        expect(sameState(again.state, h.state)).toBe(true);
      }
    }
    const snap = project.db.prepare('SELECT at_edit FROM state_snapshot').get() as { at_edit: number } | undefined;
    expect(snap).toBeDefined();
    project.close();
  });

  it('keeps at most maxSteps steps, folding the oldest into the snapshot', () => {
    const project = freshProject();
    const h = EditHistory.open(project, { maxSteps: 5 });
    for (let k = 0; k < 12; k++) h.commit(deleteRange(h, k * 10, k * 10 + 5));
    expect(h.list().steps.map((s) => s.label)).toEqual([7, 8, 9, 10, 11].map((k) => `Delete ${k * 10}..${k * 10 + 5}`));
    expect(h.cursor).toBe(5);
    for (let k = 0; k < 5; k++) expect(h.undo()).toBeDefined();
    expect(h.undo()).toBeUndefined();
    // The first seven deletions can no longer be undone: they are part of the snapshot.
    expect(h.state.flags[0]).toBe(FLAG_DELETED);
    expect(h.state.flags[70]).toBe(0);
    const again = reopened(project);
    expect(again.cursor).toBe(0);
    expect(sameState(again.state, h.state)).toBe(true);
    project.close();
  });

  it('says PROJECT_CORRUPT for a history it cannot read, and leaves the file as it was', () => {
    const project = freshProject();
    const h = EditHistory.open(project);
    h.commit(deleteRange(h, 0, 10));
    project.db.prepare('UPDATE edits SET payload = ?').run(Buffer.from([2, 9, 9]));
    expect(() => EditHistory.open(project)).toThrow(expect.objectContaining({ code: 'PROJECT_CORRUPT', message: expect.stringMatching(/edit history .* is damaged/) }));
    project.db.prepare('UPDATE edits SET undone = 1').run();
    project.db.prepare('INSERT INTO edits (kind, label, payload, created_at, undone) VALUES (?, ?, NULL, ?, 0)').run('x', 'x', 'now');
    expect(() => EditHistory.open(project)).toThrow(/a done edit follows an undone one/);
    project.close();
  });
});

describe('schema 4 migration', () => {
  it('turns a schema-2 state and its whole-channel edits into a snapshot and sparse steps', () => {
    const project = freshProject({ migrations: MIGRATIONS.slice(0, 2) });
    const dir = project.dir;
    const count = source.count;
    // Written as schema 2's store did: the current state per channel, each edit a whole-channel XOR.
    const legacyPayload = (flags: Uint8Array | undefined, layers: Uint16Array | undefined) => {
      const f = flags ? encodeRuns(flags) : undefined;
      const l = layers ? encodeRuns(layers) : undefined;
      const header = Buffer.from(JSON.stringify({ flags: f?.length, layers: l?.length, data: { note: 'old' } }));
      const head = Buffer.alloc(4);
      head.writeUInt32LE(header.length);
      return Buffer.concat([head, header, ...(f ? [f] : []), ...(l ? [l] : [])]);
    };
    const d1 = new Uint16Array(count).fill(1, 10, 20);
    const d2 = new Uint8Array(count).fill(FLAG_DELETED, 15, 30);
    const d3 = new Uint8Array(count).fill(FLAG_HIDDEN, 0, 5);
    const db = project.db;
    db.prepare("INSERT INTO layers (id, name, colour, visible, sort_order, created_at) VALUES (1, 'old', '#112233', 1, 1, 'then')").run();
    const insert = db.prepare('INSERT INTO edits (kind, label, payload, created_at, undone) VALUES (?, ?, ?, ?, ?)');
    insert.run('layer.assign', 'one', legacyPayload(undefined, d1), 'then', 0);
    insert.run('state.delete', 'two', legacyPayload(d2, undefined), 'then', 0);
    insert.run('state.hide', 'three', legacyPayload(d3, undefined), 'then', 1);
    // Current state: edits one and two applied.
    db.prepare("INSERT INTO gaussian_state (channel, encoding, count, data) VALUES ('flags', 'rle-varint', ?, ?), ('layer', 'rle-varint', ?, ?)").run(count, encodeRuns(d2), count, encodeRuns(d1));
    project.close();

    const upgraded = openProject(dir);
    expect(upgraded.schemaVersion).toBe(MIGRATIONS.at(-1)!.version);
    const h = EditHistory.open(upgraded);
    expect(h.list().steps.map((s) => [s.label, s.touched])).toEqual([['one', 10], ['two', 15], ['three', 5]]);
    expect(h.cursor).toBe(2);
    expect(sameBytes(h.state.flags, d2) && sameBytes(h.state.layers, d1)).toBe(true);
    h.redo();
    expect(h.state.flags[0]).toBe(FLAG_HIDDEN);
    h.goto(0);
    expect(h.state.flags.every((f) => f === 0) && h.state.layers.every((l) => l === 0)).toBe(true);
    expect(listLayers(upgraded.db)).toMatchObject([{ id: 1, name: 'old', locked: false }]);
    upgraded.close();
    const raw = new Database(join(dir, PROJECT_DB), { readonly: true });
    expect(raw.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'gaussian_state'").get()).toEqual({ n: 0 });
    raw.close();
  });
});
