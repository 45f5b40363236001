import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENES, sharedScene } from '../../e2e/fixtures.ts';
import { DISPLAY_DELETED, DISPLAY_LOCKED, DISPLAY_SELECTED, DISPLAY_SHOWN } from '../contract/display-state.ts';
import { SagaError } from '../contract/errors.ts';
import { ProjectEditor } from './editor.ts';
import { FLAG_DELETED } from './gaussian-state.ts';
import { createProject, openProject, type Project, type ProjectSource } from './store.ts';
import { plySource } from './test-source.ts';
import { durableState, scriptedEdit, selectRange } from './testing/edit-script.ts';

let root: string;
let source: ProjectSource;
const open: Project[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'saga-editor-'));
  source = await plySource(sharedScene(SCENES.inria));
});
afterAll(() => {
  for (const p of open) p.close();
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
function fresh(): ProjectEditor {
  const project = createProject(join(root, `p${n++}`), { source });
  open.push(project);
  return ProjectEditor.open(project);
}

/** The same project after a restart (a second connection, as a new process would open it). */
function reopen(editor: ProjectEditor): ProjectEditor {
  const project = openProject(editor.project.dir);
  open.push(project);
  return ProjectEditor.open(project);
}

function errorOf(fn: () => unknown): SagaError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SagaError) return e;
    throw e;
  }
  throw new Error('expected a SagaError');
}

const layerOf = (e: ProjectEditor, i: number) => e.history.state.layers[i];
const byName = (e: ProjectEditor, name: string) => e.summary().layers.find((l) => l.name === name)!;

describe('editing a project', () => {
  it('makes a layer from the selection (row and Gaussians in one step); undo and redo take both', () => {
    const e = fresh();
    expect(selectRange(e, 100, 600)).toBe(500);
    const made = e.newLayer({ name: ' Chair ', colour: '#FF8800' });
    expect(made.step).toMatchObject({ kind: 'layer.new', label: 'New layer "Chair" (500 Gaussians)', touched: 500 });
    expect(e.summary()).toMatchObject({ layers: [{ id: 1, name: 'Chair', colour: '#ff8800', visible: true, locked: false, count: 500 }], unassigned: { count: source.count - 500, visible: true }, cursor: 1, steps: 1, selected: 500 });
    expect(layerOf(e, 100)).toBe(1);
    expect(e.undo()).toMatchObject({ undone: true, step: { label: 'New layer "Chair" (500 Gaussians)' } });
    expect(e.summary().layers).toEqual([]);
    expect(layerOf(e, 100)).toBe(0);
    e.redo();
    expect(e.summary().layers).toMatchObject([{ id: 1, name: 'Chair', count: 500 }]);
    expect(reopen(e).summary().layers).toEqual(e.summary().layers);
    // Without a name or colour: "Layer N" in a palette colour.
    selectRange(e, 700, 710);
    e.newLayer();
    expect(e.summary().layers[1]).toMatchObject({ id: 2, name: 'Layer 2', colour: '#3cb44b', count: 10 });
    expect(e.summary().layers[0]!.count).toBe(500);
  });

  it('renames, recolours, hides, shows, locks and unlocks, each one undoable step; a change to nothing records nothing', () => {
    const e = fresh();
    selectRange(e, 0, 100);
    e.newLayer({ name: 'A' });
    const id = byName(e, 'A').id;
    expect(errorOf(() => e.renameLayer(id, '   ')).message).toMatch(/needs a name/);
    expect(e.renameLayer(id, 'B').step?.label).toBe('Rename "A" to "B"');
    expect(e.recolourLayer(id, '#000000').step?.label).toBe('Recolour "B"');
    expect(e.setLayerVisible(id, false).step?.label).toBe('Hide "B"');
    expect(e.summary()).toMatchObject({ shown: source.count - 100, layers: [{ name: 'B', colour: '#000000', visible: false }] });
    expect(e.renameLayer(id, 'B').step).toBeUndefined();
    expect(e.setLayerLocked(id, true).step?.label).toBe('Lock "B"');
    expect(e.setLayerLocked(id, true).step).toBeUndefined();
    expect(e.summary().steps).toBe(5);
    for (const label of ['Lock "B"', 'Hide "B"', 'Recolour "B"', 'Rename "A" to "B"']) expect(e.undo().step?.label).toBe(label);
    expect(e.summary().layers).toMatchObject([{ name: 'A', colour: '#e6194b', visible: true, locked: false }]);
    expect(e.summary().shown).toBe(source.count);
    e.goto(5);
    expect(e.summary().layers).toMatchObject([{ name: 'B', visible: false, locked: true }]);
    expect(errorOf(() => e.recolourLayer(99, '#000000')).message).toMatch(/no layer 99/);
  });

  it('hides the unassigned Gaussians, and isolates one layer (everything else hidden) as one step', () => {
    const e = fresh();
    selectRange(e, 0, 100);
    e.newLayer({ name: 'A' });
    selectRange(e, 100, 300);
    e.newLayer({ name: 'B' });
    expect(e.setLayerVisible(0, false).step?.label).toBe('Hide unassigned Gaussians');
    expect(e.summary().shown).toBe(300);
    e.undo();
    const iso = e.isolateLayer(byName(e, 'B').id);
    expect(iso.step?.label).toBe('Isolate "B"');
    expect(e.summary()).toMatchObject({ shown: 200, unassigned: { visible: false }, layers: [{ name: 'A', visible: false }, { name: 'B', visible: true }] });
    // Hidden Gaussians leave the selection: only B's remain selectable.
    expect(e.selection.count).toBe(200);
    expect(e.isolateLayer(byName(e, 'B').id).step).toBeUndefined();
    e.undo();
    expect(e.summary()).toMatchObject({ shown: source.count, unassigned: { visible: true } });
    e.isolateLayer(0);
    expect(e.summary()).toMatchObject({ shown: source.count - 300, layers: [{ visible: false }, { visible: false }] });
  });

  it("deletes a layer's Gaussians with the layer, merges layers, and moves the selection in and out of layers", () => {
    const e = fresh();
    selectRange(e, 0, 100);
    e.newLayer({ name: 'A' });
    selectRange(e, 100, 300);
    e.newLayer({ name: 'B' });
    selectRange(e, 300, 350);
    e.newLayer({ name: 'C' });
    const [a, b, c] = e.summary().layers.map((l) => l.id) as [number, number, number];

    expect(e.mergeLayers(a, [b, c]).step?.label).toBe('Merge 2 layers into "A"');
    expect(e.summary().layers).toMatchObject([{ name: 'A', count: 350 }]);
    e.undo();
    expect(e.summary().layers.map((l) => [l.name, l.count])).toEqual([['A', 100], ['B', 200], ['C', 50]]);

    selectRange(e, 50, 150);
    expect(e.moveSelection(c).step?.label).toBe('Move 100 Gaussians to "C"');
    expect(e.summary().layers.map((l) => l.count)).toEqual([50, 150, 150]);
    expect(e.moveSelection(0).step?.label).toBe('Remove 100 Gaussians from their layers');
    expect(e.summary().unassigned.count).toBe(source.count - 250);
    e.undo();

    expect(e.deleteLayer(c).step?.label).toBe('Delete layer "C" (150 Gaussians)');
    const s = e.summary();
    expect(s).toMatchObject({ deleted: 150, shown: source.count - 150, selected: 0 });
    expect(s.layers.map((l) => l.name)).toEqual(['A', 'B']);
    expect(e.history.state.flags[60]).toBe(FLAG_DELETED);
    expect(layerOf(e, 60)).toBe(0);
    e.undo();
    expect(e.summary().layers.map((l) => [l.name, l.count])).toEqual([['A', 50], ['B', 150], ['C', 150]]);
    expect(e.summary().deleted).toBe(0);
    expect(layerOf(e, 60)).toBe(c);
    expect(errorOf(() => e.mergeLayers(a, [a])).message).toMatch(/at least one other layer/);
  });

  it('deletes the selected Gaussians; undo brings them back (unselected: the selection is not history)', () => {
    const e = fresh();
    selectRange(e, 1000, 1500);
    expect(e.deleteSelected().step).toMatchObject({ kind: 'selection.delete', label: 'Delete 500 Gaussians', touched: 500 });
    expect(e.summary()).toMatchObject({ deleted: 500, shown: source.count - 500, selected: 0 });
    // Deleted Gaussians cannot be selected again.
    expect(selectRange(e, 1000, 1500)).toBe(0);
    e.undo();
    expect(e.summary()).toMatchObject({ deleted: 0, shown: source.count, selected: 0 });
  });

  it('refuses edits to a locked layer with a message, allows showing, hiding, isolating and unlocking it', () => {
    const e = fresh();
    selectRange(e, 0, 100);
    e.newLayer({ name: 'Floor' });
    selectRange(e, 100, 200);
    e.newLayer({ name: 'Other' });
    const floor = byName(e, 'Floor').id;
    const other = byName(e, 'Other').id;
    selectRange(e, 0, 200);
    e.setLayerLocked(floor, true);
    // Locked Gaussians left the selection and cannot be selected.
    expect(e.selection.count).toBe(100);
    expect(selectRange(e, 0, 100)).toBe(0);
    const steps = e.summary().steps;
    for (const [edit, words] of [
      [() => e.renameLayer(floor, 'x'), /"Floor" is locked, so you cannot rename it\. Unlock it first/],
      [() => e.recolourLayer(floor, '#123456'), /cannot recolour it/],
      [() => e.deleteLayer(floor), /cannot delete it/],
      [() => e.mergeLayers(other, [floor]), /cannot merge it/],
      [() => e.mergeLayers(floor, [other]), /cannot merge into it/],
    ] as const) {
      const err = errorOf(edit);
      expect(err.code).toBe('LAYER_LOCKED');
      expect(err.message).toMatch(words);
    }
    selectRange(e, 150, 160);
    expect(errorOf(() => e.moveSelection(floor)).code).toBe('LAYER_LOCKED');
    expect(e.summary().steps).toBe(steps);
    expect(e.setLayerVisible(floor, false).step).toBeDefined();
    expect(e.isolateLayer(floor).step).toBeDefined();
    expect(e.setLayerLocked(floor, false).step).toBeDefined();
    expect(e.renameLayer(floor, 'Ground').step).toBeDefined();
  });

  it('does nothing for undo or redo at either end of the history, and explains an empty selection', () => {
    const e = fresh();
    expect(e.undo()).toEqual({});
    expect(e.redo()).toEqual({});
    expect(e.summary()).toMatchObject({ cursor: 0, steps: 0, version: 0 });
    for (const edit of [() => e.newLayer(), () => e.deleteSelected(), () => e.moveSelection(0)]) {
      const err = errorOf(edit);
      expect(err.code).toBe('NOTHING_SELECTED');
      expect(err.message).toMatch(/Nothing is selected/);
    }
    expect(errorOf(() => e.goto(3)).message).toMatch(/History position 3 does not exist/);
    expect(errorOf(() => e.setLayerLocked(0, true)).message).toMatch(/unassigned Gaussians \(layer 0\) are not a layer/);
  });

  it('keeps the display state: bits per Gaussian, and the changes since a version', () => {
    const e = fresh();
    const whole = e.display.frame();
    expect(whole).toMatchObject({ kind: 'whole', version: 0, count: source.count });
    expect(whole.display.every((d) => d === DISPLAY_SHOWN)).toBe(true);
    selectRange(e, 10, 20);
    const v1 = e.display.version;
    const sel = e.display.frame(0);
    expect(sel.kind).toBe('changes');
    expect([...sel.indices!]).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    expect(sel.display.every((d) => d === (DISPLAY_SHOWN | DISPLAY_SELECTED))).toBe(true);
    e.newLayer({ name: 'L' });
    e.setLayerLocked(1, true);
    const locked = e.display.frame(v1);
    expect([...locked.indices!]).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    expect([...locked.layers]).toEqual(new Array(10).fill(1));
    // Locked Gaussians were dropped from the selection.
    expect(locked.display[0]).toBe(DISPLAY_SHOWN | DISPLAY_LOCKED);
    e.setLayerLocked(1, false);
    selectRange(e, 15, 25);
    const v2 = e.display.version;
    e.deleteSelected();
    const del = e.display.frame(v2);
    expect([...del.indices!]).toEqual([15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
    expect(del.display.every((d) => d === DISPLAY_DELETED)).toBe(true);
    expect(e.display.frame(e.display.version)).toMatchObject({ kind: 'changes', indices: new Uint32Array(0) });
    // A version from the future (another session) gets the whole state.
    expect(e.display.frame(e.display.version + 5).kind).toBe('whole');
    // Recolouring changes no display bit but the layer's Gaussians are redrawn.
    const v3 = e.display.version;
    e.recolourLayer(1, '#ffffff');
    expect([...e.display.frame(v3).indices!]).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  });

  it('picks the rows a save keeps: shown and not deleted, or one layer, or hidden ones too', () => {
    const e = fresh();
    selectRange(e, 0, 10);
    e.newLayer({ name: 'A' });
    selectRange(e, 5, 8);
    e.deleteSelected();
    selectRange(e, 20, 30);
    e.newLayer({ name: 'B' });
    e.setLayerVisible(2, false);
    const all = e.keptRows();
    expect(all.length).toBe(source.count - 3 - 10);
    expect(all.includes(6)).toBe(false);
    expect(all.includes(25)).toBe(false);
    expect(e.keptRows({ includeHidden: true }).length).toBe(source.count - 3);
    expect([...e.keptRows({ layer: 1 })]).toEqual([0, 1, 2, 3, 4, 8, 9]);
    // Asking for a hidden layer is enough to get it.
    expect(e.keptRows({ layer: 2 }).length).toBe(10);
  });

  it('survives closing and reopening: history, cursor, layers and state (not the selection)', () => {
    const e = fresh();
    for (let k = 0; k < 30; k++) scriptedEdit(e, k);
    expect(e.summary().steps).toBeGreaterThan(5);
    const again = reopen(e);
    expect(durableState(again)).toEqual(durableState(e));
    expect(again.selection.count).toBe(0);
    expect([...again.display.display]).toEqual([...e.display.display].map((d) => d & ~DISPLAY_SELECTED));
  });
});

describe('crash safety', () => {
  it('keeps every committed edit when the process is killed (SIGKILL) in the middle of editing', async () => {
    const e = fresh();
    const dir = e.project.dir;
    // One writer per project: this process lets go before the editing process opens it.
    e.project.close();
    const script = join(root, 'edit-until-killed.mts');
    const url = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);
    writeFileSync(script, `
      import { openProject } from ${url('./store.ts')};
      import { ProjectEditor } from ${url('./editor.ts')};
      import { scriptedEdit } from ${url('./testing/edit-script.ts')};
      const editor = ProjectEditor.open(openProject(${JSON.stringify(dir)}), { snapshotAfter: 2000 });
      for (let k = 0; ; k++) {
        scriptedEdit(editor, k);
        process.stdout.write('done ' + k + '\\n');
      }
    `);
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const lastDone = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const seen = [...out.matchAll(/done (\d+)\n/g)].map((m) => Number(m[1]));
        if (seen.length > 0 && seen.at(-1)! >= 60) {
          child.kill('SIGKILL');
          resolve(seen.at(-1)!);
        }
      });
      child.on('exit', (code) => reject(new Error(`the editing process ended by itself (${code}): ${stderr}`)));
    });
    await new Promise((r) => child.once('exit', r));
    expect(child.signalCode).toBe('SIGKILL');

    // The same script in this process, on a fresh project: the killed one stopped after edit
    // `lastDone` or the one after it (committed, not yet reported).
    const restarted = reopen(e);
    const reference = fresh();
    for (let k = 0; k <= lastDone; k++) scriptedEdit(reference, k);
    let expected = durableState(reference);
    if (JSON.stringify(expected) !== JSON.stringify(durableState(restarted))) {
      scriptedEdit(reference, lastDone + 1);
      expected = durableState(reference);
    }
    expect(durableState(restarted)).toEqual(expected);
    expect(restarted.summary().steps).toBeGreaterThan(10);
  });
});
