/**
 * Test helper: a fixed sequence of edits where edit k depends only on k and the project's state,
 * so a process that was killed part-way can be compared with the same sequence run to any step.
 */
import { isSagaError } from '../../contract/errors.ts';
import { mulberry32 } from '../../common/random.ts';
import type { ProjectEditor } from '../editor.ts';

/** Selects Gaussians [from, to) (those that can be selected). */
export function selectRange(editor: ProjectEditor, from: number, to: number, mode: 'replace' | 'add' = 'replace'): number {
  const bytes = new Uint8Array(editor.count);
  bytes.fill(1, Math.max(0, from), Math.min(editor.count, to));
  return editor.select(mode, { bytes });
}

/** Runs edit `k` of the script. */
export function scriptedEdit(editor: ProjectEditor, k: number): void {
  const r = mulberry32(1000 + k);
  const from = Math.floor(r() * editor.count);
  selectRange(editor, from, from + 50 + Math.floor(r() * 1500));
  const layers = editor.summary().layers;
  try {
    switch (k % 6) {
      case 0: editor.newLayer({ name: `L${k}` }); break;
      case 1: editor.deleteSelected(); break;
      case 2: editor.moveSelection(layers[0]?.id ?? 0); break;
      case 3: editor.undo(); break;
      case 4: if (layers.length > 1) editor.mergeLayers(layers[0]!.id, [layers.at(-1)!.id]); else editor.redo(); break;
      case 5: {
        // Somewhere in the newer half, so the history keeps growing.
        const steps = editor.history.length;
        editor.goto(Math.ceil(steps / 2 + r() * (steps / 2)));
        break;
      }
    }
  } catch (e) {
    // The random range may hold nothing selectable: the script goes on, as a user would.
    if (!isSagaError(e, 'NOTHING_SELECTED')) throw e;
  }
}

/** What must survive a restart: history labels and cursor, layers, per-Gaussian state (no timestamps). */
export function durableState(editor: ProjectEditor): unknown {
  const { steps, cursor } = editor.history.list();
  const s = editor.summary();
  return {
    steps: steps.map((x) => [x.kind, x.label, x.touched]),
    cursor,
    layers: s.layers,
    unassigned: s.unassigned,
    deleted: s.deleted,
    flags: Buffer.from(editor.history.state.flags).toString('base64'),
    layerIds: Buffer.from(editor.history.state.layers.buffer).toString('base64'),
  };
}
