import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENES, sharedScene } from '../../e2e/fixtures.ts';
import type { ApiMethods, ExportSummary, JobEvent } from '../contract/api.ts';
import { DISPLAY_DELETED, DISPLAY_SELECTED, DISPLAY_SHOWN, decodeDisplayFrame } from '../contract/display-state.ts';
import type { RpcClient } from '../contract/rpc.ts';
import { parsePlyHeader } from '../scene/ply-header.ts';
import type { SagaBackend } from './backend.ts';
import { memoryBackend } from './testing/memory-backend.ts';

const root = mkdtempSync(join(tmpdir(), 'saga-edit-api-'));
let client: RpcClient<ApiMethods>;
let backend: SagaBackend;
let scenePath: string;
const COUNT = 9080;

beforeAll(() => {
  ({ backend, client } = memoryBackend(join(root, 'user-data')));
  scenePath = join(root, 'scene.ply');
  copyFileSync(sharedScene(SCENES.inria), scenePath);
});
afterAll(() => {
  backend.close();
  rmSync(root, { recursive: true, force: true });
});

/** What segmentation does: a new selection of Gaussians [from, to). */
function select(from: number, to: number, mode: 'replace' | 'add' | 'subtract' | 'intersect' = 'replace') {
  const bytes = new Uint8Array(COUNT);
  bytes.fill(1, from, to);
  return backend.edits.select(mode, { bytes });
}

function jobResult(jobId: string): Promise<JobEvent> {
  return new Promise((resolve) => {
    const off = client.onJobEvent((e) => {
      if (e.jobId === jobId && e.kind !== 'progress') {
        off();
        resolve(e);
      }
    });
  });
}

describe('the edit API over RPC', () => {
  it('refuses edit requests with NO_PROJECT while no project is open', async () => {
    for (const call of [() => client.call('edit.state', {}), () => client.call('edit.undo', {}), () => client.call('edit.display', {})]) {
      await expect(call()).rejects.toMatchObject({ code: 'NO_PROJECT' });
    }
  });

  it('edits a project: selection, a layer, delete, undo, redo, goto, with the display state as binary frames', async () => {
    const dir = join(root, 'project');
    await client.call('project.create', { dir, source: scenePath });
    const start = await client.call('edit.state', {});
    expect(start).toMatchObject({ count: COUNT, shown: COUNT, selected: 0, deleted: 0, layers: [], unassigned: { count: COUNT, visible: true }, cursor: 0, steps: 0 });

    const whole = decodeDisplayFrame(await client.call('edit.display', {}));
    expect(whole).toMatchObject({ kind: 'whole', count: COUNT, version: start.version });
    expect(whole.display.every((d) => d === DISPLAY_SHOWN)).toBe(true);

    expect(select(100, 400).selected).toBe(300);
    expect(select(300, 500, 'add').selected).toBe(400);
    const layer = await client.call('edit.newLayer', { name: 'Guitar', colour: '#ff8800' });
    expect(layer.step).toMatchObject({ kind: 'layer.new', label: 'New layer "Guitar" (400 Gaussians)' });
    expect(layer.layers).toEqual([{ id: 1, name: 'Guitar', colour: '#ff8800', visible: true, locked: false, count: 400 }]);

    // The viewport asks for what changed since the version it drew.
    const sinceLayer = layer.version;
    select(450, 550, 'replace');
    const deleted = await client.call('edit.deleteSelected', {});
    expect(deleted).toMatchObject({ deleted: 100, shown: COUNT - 100, selected: 0, cursor: 2, steps: 2, undone: false });
    const changes = decodeDisplayFrame(await client.call('edit.display', { since: sinceLayer }));
    expect(changes.kind).toBe('changes');
    expect(changes.version).toBe(deleted.version);
    // Selecting 450..549 unselected 100..449; all of 100..549 changed.
    expect(changes.indices!.length).toBe(450);
    expect(changes.indices![0]).toBe(100);
    expect([...changes.display.subarray(350)].every((d) => d === DISPLAY_DELETED)).toBe(true);
    expect([...changes.layers.subarray(0, 400)].every((l) => l === 1)).toBe(true);

    const undone = await client.call('edit.undo', {});
    expect(undone).toMatchObject({ deleted: 0, undone: true, step: { label: 'Delete 100 Gaussians' }, cursor: 1 });
    const redone = await client.call('edit.redo', {});
    expect(redone).toMatchObject({ deleted: 100, undone: false, cursor: 2 });
    expect((await client.call('edit.goto', { position: 0 })).layers).toEqual([]);
    const end = await client.call('edit.goto', { position: 2 });
    expect(end).toMatchObject({ cursor: 2, deleted: 100 });
    const history = await client.call('edit.history', {});
    expect(history.cursor).toBe(2);
    expect(history.steps.map((s) => s.label)).toEqual(['New layer "Guitar" (400 Gaussians)', 'Delete 100 Gaussians']);

    // Invert selects everything selectable (not the deleted ones); clear empties it.
    const inverted = await client.call('edit.invertSelection', {});
    expect(inverted.selected).toBe(COUNT - 100);
    expect(inverted.step).toBeUndefined();
    const frame = decodeDisplayFrame(await client.call('edit.display', {}));
    expect(frame.display[0]).toBe(DISPLAY_SHOWN | DISPLAY_SELECTED);
    expect((await client.call('edit.clearSelection', {})).selected).toBe(0);

    // Layer edits through the API.
    await client.call('edit.renameLayer', { layer: 1, name: 'Body' });
    await client.call('edit.recolourLayer', { layer: 1, colour: '#00FF00' });
    await client.call('edit.showLayer', { layer: 0, visible: false });
    expect((await client.call('edit.state', {})).shown).toBe(350);
    await client.call('edit.isolateLayer', { layer: 0 });
    await client.call('edit.lockLayer', { layer: 1, locked: true });
    await expect(client.call('edit.deleteLayer', { layer: 1 })).rejects.toMatchObject({ code: 'LAYER_LOCKED', message: expect.stringMatching(/"Body" is locked/) });
    await client.call('edit.lockLayer', { layer: 1, locked: false });
    select(600, 700);
    await client.call('edit.newLayer', {});
    // Isolating the unassigned Gaussians hid "Body": its 350 plus the new layer's 100.
    expect((await client.call('edit.mergeLayers', { into: 1, layers: [2] })).layers).toMatchObject([{ id: 1, name: 'Body', colour: '#00ff00', visible: false, count: 450 }]);
    select(1000, 1010);
    expect((await client.call('edit.moveSelection', { layer: 1 })).layers[0]!.count).toBe(460);
    await client.call('edit.deleteLayer', { layer: 1 });
    expect(await client.call('edit.state', {})).toMatchObject({ layers: [], deleted: 560, shown: COUNT - 560 });

    // Closed and reopened: the history and state are there, the selection is not.
    await client.call('project.close', {});
    await client.call('project.open', { dir });
    const reopened = await client.call('edit.state', {});
    expect(reopened).toMatchObject({ deleted: 560, selected: 0, layers: [], cursor: 12, steps: 12 });
    expect((await client.call('edit.history', {})).steps.at(-1)!.label).toBe('Delete layer "Body" (460 Gaussians)');
  });

  it('validates every edit request before it reaches the project', async () => {
    const cases: [keyof ApiMethods, unknown, RegExp][] = [
      ['edit.newLayer', { colour: 'orange' }, /'colour' must be a colour #rrggbb/],
      ['edit.newLayer', { name: 'x'.repeat(121) }, /longer than 120/],
      ['edit.renameLayer', { layer: -1, name: 'x' }, /'layer' must be a whole number from 0 to 65535/],
      ['edit.showLayer', { layer: 1, visible: 'yes' }, /'visible' must be true or false/],
      ['edit.mergeLayers', { into: 1, layers: [2, 0] }, /'layers' must be a list/],
      ['edit.goto', { position: 1.5 }, /'position' must be a whole number/],
      ['edit.display', { since: -3 }, /'since' must be a whole number/],
      ['edit.deleteSelected', { everything: true }, /unknown field 'everything'/],
      ['edit.export', { path: '' }, /'path' is empty/],
    ];
    for (const [method, params, message] of cases) {
      await expect(client.call(method, params as never)).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(message) });
    }
    await expect(client.call('edit.renameLayer', { layer: 77, name: 'x' })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/no layer 77/) });
    await expect(client.call('edit.deleteSelected', {})).rejects.toMatchObject({ code: 'NOTHING_SELECTED' });
  });

  it('saves the edited scene as a job, and refuses the source scene before any job starts', async () => {
    const out = join(root, 'saved.ply');
    const { jobId } = await client.call('edit.export', { path: out });
    const event = await jobResult(jobId);
    expect(event.kind).toBe('result');
    const summary = (event as { result: ExportSummary }).result;
    expect(summary).toMatchObject({ path: out, format: 'ply', count: COUNT - 560, featureDim: 0 });
    const bytes = readFileSync(out);
    expect(parsePlyHeader(bytes).elements[0]!.count).toBe(COUNT - 560);
    await expect(client.call('edit.export', { path: scenePath })).rejects.toMatchObject({ code: 'FILE_EXISTS', details: { source: true } });
    await expect(client.call('edit.export', { path: out })).rejects.toMatchObject({ code: 'FILE_EXISTS', details: { source: false } });
  });
});
