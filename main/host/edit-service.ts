/**
 * The backend's 'edit' namespace: the open project's editing session (project/editor.ts) behind the
 * API: edits, undo/redo/goto, the history and layer lists, the selection, the display state as a
 * binary frame, and saving the edited scene as a job. The backend hands it the editor of each
 * project it opens; segmentation calls `select` to combine a new selection with the current one.
 */
import type { ApiMethod, ApiMethods, EditOutcome, EditState, ExportSummary } from '../contract/api.ts';
import { encodeDisplayFrame } from '../contract/display-state.ts';
import { SagaError } from '../contract/errors.ts';
import type { Handlers } from '../contract/rpc.ts';
import type { ProjectEditor, StepOutcome } from '../project/editor.ts';
import { planExport, writeExport } from '../project/export.ts';
import { projectWriteError } from '../project/store.ts';
import type { SelectionInput, SelectionMode } from '../project/selection.ts';
import type { GaussianScene } from '../scene/gaussians.ts';

type EditMethod = Extract<ApiMethod, `edit.${string}`>;

export type EditHandlers = Pick<Handlers<ApiMethods>, EditMethod>;

export class EditService {
  private editor: ProjectEditor | undefined;
  readonly handlers: EditHandlers;

  /** `scene` is the open project's scene in memory (saving writes its rows). */
  constructor(private readonly scene: () => GaussianScene | undefined) {
    this.handlers = this.buildHandlers();
  }

  /** The editing session of the open project, if one is open. */
  get current(): ProjectEditor | undefined {
    return this.editor;
  }

  /** Makes `editor` (opened with ProjectEditor.open before the old project was closed) the current one. */
  attach(editor: ProjectEditor): void {
    this.editor = editor;
  }

  /** The project closed: its selection and display state go (its edits are all committed already). */
  detach(): void {
    this.editor = undefined;
  }

  /** For segmentation: combines a new selection with the current one and returns the new state. */
  select(mode: SelectionMode, input: SelectionInput): EditState {
    const editor = this.require('select');
    editor.select(mode, input);
    return editor.summary();
  }

  private require(toDo: string): ProjectEditor {
    if (!this.editor) throw new SagaError('NO_PROJECT', `No project is open, so there is nothing to ${toDo}. Open or create a project first.`);
    return this.editor;
  }

  private outcome(editor: ProjectEditor, done: StepOutcome): EditOutcome {
    return { ...editor.summary(), ...(done.step ? { step: done.step, undone: done.undone ?? false } : {}) };
  }

  /** Runs `act` on the open project's editor and answers with the new state. */
  private apply(toDo: string, act: (editor: ProjectEditor) => StepOutcome | void): EditOutcome {
    const editor = this.require(toDo);
    let done: StepOutcome | void;
    try {
      done = act(editor);
    } catch (e) {
      throw projectWriteError(editor.project.dir, e);
    }
    return this.outcome(editor, done ?? {});
  }

  private buildHandlers(): EditHandlers {
    return {
      'edit.state': () => this.require('show').summary(),
      'edit.display': ({ since }) => encodeDisplayFrame(this.require('show').display.frame(since)),
      'edit.history': () => this.require('show the history of').history.list(),
      'edit.undo': () => this.apply('undo', (e) => e.undo()),
      'edit.redo': () => this.apply('redo', (e) => e.redo()),
      'edit.goto': ({ position }) => this.apply('go back to', (e) => e.goto(position)),
      'edit.invertSelection': () => this.apply('select', (e) => e.invertSelection()),
      'edit.clearSelection': () => this.apply('select', (e) => e.clearSelection()),
      'edit.newLayer': (params) => this.apply('make a layer in', (e) => e.newLayer(params)),
      'edit.renameLayer': ({ layer, name }) => this.apply('edit', (e) => e.renameLayer(layer, name)),
      'edit.recolourLayer': ({ layer, colour }) => this.apply('edit', (e) => e.recolourLayer(layer, colour)),
      'edit.showLayer': ({ layer, visible }) => this.apply('edit', (e) => e.setLayerVisible(layer, visible)),
      'edit.isolateLayer': ({ layer }) => this.apply('edit', (e) => e.isolateLayer(layer)),
      'edit.lockLayer': ({ layer, locked }) => this.apply('edit', (e) => e.setLayerLocked(layer, locked)),
      'edit.deleteLayer': ({ layer }) => this.apply('edit', (e) => e.deleteLayer(layer)),
      'edit.mergeLayers': ({ into, layers }) => this.apply('edit', (e) => e.mergeLayers(into, layers)),
      'edit.moveSelection': ({ layer }) => this.apply('edit', (e) => e.moveSelection(layer)),
      'edit.deleteSelected': () => this.apply('edit', (e) => e.deleteSelected()),
      'edit.export': async (params, { jobs }) => {
        const editor = this.require('save');
        const scene = this.scene();
        if (!scene || scene.count !== editor.count) throw new SagaError('NO_PROJECT', "The open project's scene is not loaded. Open the project again.");
        // Checked and planned now (rows as of this request); only the writing runs as a job.
        const plan = await planExport(editor.project, editor, params);
        return jobs.start('export', (signal, report): Promise<ExportSummary> => writeExport(scene, plan, { signal, onProgress: report }));
      },
    };
  }
}
