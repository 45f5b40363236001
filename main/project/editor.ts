/**
 * The editing session of an open project: the edits a user makes (layers from the selection,
 * rename, recolour, show/hide, isolate, lock, delete, move, merge), undo/redo/goto, the current
 * selection and the display state the viewport draws. Each edit is built here from the current
 * state and the selection, checked (locked layers, empty selection), and handed to the history as
 * one step; the display state and the selection follow every step.
 *
 * Lock rule: a locked layer can be shown, hidden, isolated and unlocked; every other edit that
 * would change it or its Gaussians is refused with LAYER_LOCKED. Its Gaussians cannot be selected.
 */
import type { EditState, HistoryStepInfo, LayerInfo } from '../contract/api.ts';
import { DISPLAY_SHOWN } from '../contract/display-state.ts';
import { SagaError } from '../contract/errors.ts';
import { DisplayState, type LayerDisplay } from './display.ts';
import { FLAG_DELETED, FLAG_HIDDEN, NO_LAYER, changeFor, emptyChange, indicesWhere } from './gaussian-state.ts';
import { EditHistory, type Applied, type Edit, type HistoryOptions, type LayerChange } from './history.ts';
import { checkLayerColour, checkLayerName, listLayers, nextLayerId, nextSortOrder, unassignedVisible, type LayerRecord } from './layers.ts';
import { Selection, type SelectionInput, type SelectionMode } from './selection.ts';
import type { Project } from './store.ts';

/** Colours given to new layers without one, in turn: distinct on dark and light backgrounds. */
export const LAYER_PALETTE = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#bfef45', '#fabed4', '#469990'];

/** What a step did, for the caller's reply: the step recorded, undone or redone (none when nothing changed). */
export interface StepOutcome {
  step?: HistoryStepInfo;
  undone?: boolean;
}

/** Which Gaussians a save or export writes. */
export interface KeepOptions {
  /** Only this layer's Gaussians (its own visibility does not matter: asking for it is enough). */
  layer?: number;
  /** Also Gaussians that are hidden (on their own or by their layer). Deleted ones never. */
  includeHidden?: boolean;
}

/** '1 Gaussian', '1,204 Gaussians': for step labels. */
const plural = (n: number, one: string) => `${n.toLocaleString('en-US')} ${one}${n === 1 ? '' : 's'}`;

export class ProjectEditor {
  readonly history: EditHistory;
  readonly selection: Selection;
  readonly display: DisplayState;
  private layers: LayerRecord[] = [];
  private unassignedShown = true;
  /** Per layer id: 1 when locked (the display state's copy). */
  private lockedIds = new Uint8Array(65536);

  private constructor(
    readonly project: Project,
    history: EditHistory,
  ) {
    this.history = history;
    this.selection = new Selection(history.state.flags.length);
    this.display = new DisplayState(history.state, this.selection.mask, this.loadLayers());
  }

  /** Loads the project's history and current state (fast with a long history: see history.ts). */
  static open(project: Project, options: HistoryOptions = {}): ProjectEditor {
    return new ProjectEditor(project, EditHistory.open(project, options));
  }

  get count(): number {
    return this.display.count;
  }

  // --- reading ----------------------------------------------------------------------------------

  /** Layers with their Gaussian counts, the unassigned Gaussians, counts and the history position. */
  summary(): EditState {
    const perLayer = new Uint32Array(65536);
    const { flags, layers } = this.history.state;
    let deleted = 0;
    for (let i = 0; i < flags.length; i++) {
      if (flags[i]! & FLAG_DELETED) deleted++;
      else perLayer[layers[i]!]!++;
    }
    return {
      version: this.display.version,
      count: this.count,
      shown: this.display.shown,
      selected: this.selection.count,
      deleted,
      layers: this.layers.map((l): LayerInfo => ({ id: l.id, name: l.name, colour: l.colour, visible: l.visible, locked: l.locked, count: perLayer[l.id]! })),
      unassigned: { count: perLayer[NO_LAYER]!, visible: this.unassignedShown },
      cursor: this.history.cursor,
      steps: this.history.length,
    };
  }

  layer(id: number): LayerRecord {
    if (id === NO_LAYER) {
      throw new SagaError('BAD_ARGUMENT', 'The unassigned Gaussians (layer 0) are not a layer: they can only be shown, hidden or isolated. Make a layer from them first.', { layer: id });
    }
    const layer = this.layers.find((l) => l.id === id);
    if (!layer) throw new SagaError('BAD_ARGUMENT', `There is no layer ${id} (it was deleted, merged or undone). Refresh the layers list and try again.`, { layer: id });
    return layer;
  }

  /** The Gaussians a save writes (ascending): not deleted, shown unless `includeHidden`, of one layer if given. */
  keptRows(options: KeepOptions = {}): Uint32Array {
    const { flags, layers } = this.history.state;
    const display = this.display.display;
    if (options.layer !== undefined) {
      const id = this.layer(options.layer).id;
      return indicesWhere(this.count, (i) => layers[i] === id && (flags[i]! & FLAG_DELETED) === 0 && (options.includeHidden || (flags[i]! & FLAG_HIDDEN) === 0));
    }
    if (options.includeHidden) return indicesWhere(this.count, (i) => (flags[i]! & FLAG_DELETED) === 0);
    return indicesWhere(this.count, (i) => (display[i]! & DISPLAY_SHOWN) !== 0);
  }

  // --- the selection (not in the history) --------------------------------------------------------

  /** Combines a new selection (from segmentation) with the current one; returns how many are selected. */
  select(mode: SelectionMode, input: SelectionInput): number {
    this.display.refresh([this.selection.combine(mode, input, this.display.selectable)]);
    return this.selection.count;
  }

  invertSelection(): void {
    this.display.refresh([this.selection.invert(this.display.selectable)]);
  }

  clearSelection(): void {
    this.display.refresh([this.selection.clear()]);
  }

  // --- edits --------------------------------------------------------------------------------------

  /** A new layer holding the selected Gaussians (moved out of their layers), row and all in one step. */
  newLayer(options: { name?: string; colour?: string } = {}): StepOutcome {
    const selected = this.requireSelection('make a layer of them');
    this.refuseLockedAmong(selected, 'move its Gaussians into a new layer');
    const db = this.project.db;
    const id = nextLayerId(db);
    const layer: LayerRecord = {
      id,
      name: options.name === undefined ? `Layer ${id}` : checkLayerName(options.name),
      colour: options.colour === undefined ? LAYER_PALETTE[(id - 1) % LAYER_PALETTE.length]! : checkLayerColour(options.colour),
      visible: true,
      locked: false,
      sortOrder: nextSortOrder(db),
      createdAt: new Date().toISOString(),
    };
    return this.commit({
      kind: 'layer.new',
      label: `New layer "${layer.name}" (${plural(selected.length, 'Gaussian')})`,
      change: changeFor(this.history.state, selected, { layer: id }),
      layers: [{ id, before: null, after: layer }],
    });
  }

  renameLayer(id: number, name: string): StepOutcome {
    const layer = this.unlocked(id, 'rename it');
    const next = checkLayerName(name);
    if (next === layer.name) return {};
    return this.rowEdit('layer.rename', `Rename "${layer.name}" to "${next}"`, layer, { name: next });
  }

  recolourLayer(id: number, colour: string): StepOutcome {
    const layer = this.unlocked(id, 'recolour it');
    const next = checkLayerColour(colour);
    if (next === layer.colour) return {};
    return this.rowEdit('layer.recolour', `Recolour "${layer.name}"`, layer, { colour: next });
  }

  /** Shows or hides a layer, or with id 0 the Gaussians in no layer. Allowed on locked layers. */
  setLayerVisible(id: number, visible: boolean): StepOutcome {
    if (id === NO_LAYER) {
      if (this.unassignedShown === visible) return {};
      return this.commit({ kind: visible ? 'layer.show' : 'layer.hide', label: `${visible ? 'Show' : 'Hide'} unassigned Gaussians`, change: emptyChange(), unassignedVisible: { before: this.unassignedShown, after: visible } });
    }
    const layer = this.layer(id);
    if (layer.visible === visible) return {};
    return this.rowEdit(visible ? 'layer.show' : 'layer.hide', `${visible ? 'Show' : 'Hide'} "${layer.name}"`, layer, { visible });
  }

  /** Shows one layer (id 0: the unassigned Gaussians) and hides every other. */
  isolateLayer(id: number): StepOutcome {
    const name = id === NO_LAYER ? 'unassigned Gaussians' : `"${this.layer(id).name}"`;
    const layers: LayerChange[] = [];
    for (const l of this.layers) {
      const visible = l.id === id;
      if (l.visible !== visible) layers.push({ id: l.id, before: l, after: { ...l, visible } });
    }
    const unassigned = id === NO_LAYER;
    return this.commit({
      kind: 'layer.isolate',
      label: `Isolate ${name}`,
      change: emptyChange(),
      layers,
      ...(this.unassignedShown !== unassigned ? { unassignedVisible: { before: this.unassignedShown, after: unassigned } } : {}),
    });
  }

  setLayerLocked(id: number, locked: boolean): StepOutcome {
    const layer = this.layer(id);
    if (layer.locked === locked) return {};
    return this.rowEdit(locked ? 'layer.lock' : 'layer.unlock', `${locked ? 'Lock' : 'Unlock'} "${layer.name}"`, layer, { locked });
  }

  /** Deletes the layer's Gaussians and the layer (its Gaussians leave it, so no id dangles). */
  deleteLayer(id: number): StepOutcome {
    const layer = this.unlocked(id, 'delete it');
    const members = this.display.gaussiansInLayers([id]);
    const live = members.filter((i) => (this.history.state.flags[i]! & FLAG_DELETED) === 0).length;
    return this.commit({
      kind: 'layer.delete',
      label: `Delete layer "${layer.name}" (${plural(live, 'Gaussian')})`,
      change: changeFor(this.history.state, members, { setFlags: FLAG_DELETED, layer: NO_LAYER }),
      layers: [{ id, before: layer, after: null }],
    });
  }

  /** Moves the Gaussians of `ids` into layer `into` and removes those layers. */
  mergeLayers(into: number, ids: number[]): StepOutcome {
    const target = this.unlocked(into, 'merge into it');
    const sources = [...new Set(ids)].filter((id) => id !== into).map((id) => this.unlocked(id, 'merge it'));
    if (sources.length === 0) throw new SagaError('BAD_ARGUMENT', `Choose at least one other layer to merge into "${target.name}".`);
    const members = this.display.gaussiansInLayers(sources.map((l) => l.id));
    return this.commit({
      kind: 'layer.merge',
      label: sources.length === 1 ? `Merge "${sources[0]!.name}" into "${target.name}"` : `Merge ${sources.length} layers into "${target.name}"`,
      change: changeFor(this.history.state, members, { layer: into }),
      layers: sources.map((l) => ({ id: l.id, before: l, after: null })),
    });
  }

  /** Moves the selected Gaussians to layer `id` (0: out of every layer). */
  moveSelection(id: number): StepOutcome {
    const selected = this.requireSelection('move them');
    const target = id === NO_LAYER ? undefined : this.unlocked(id, 'move Gaussians into it');
    this.refuseLockedAmong(selected, 'move its Gaussians');
    return this.commit({
      kind: 'selection.move',
      label: target ? `Move ${plural(selected.length, 'Gaussian')} to "${target.name}"` : `Remove ${plural(selected.length, 'Gaussian')} from their layers`,
      change: changeFor(this.history.state, selected, { layer: id }),
    });
  }

  deleteSelected(): StepOutcome {
    const selected = this.requireSelection('delete them');
    this.refuseLockedAmong(selected, 'delete its Gaussians');
    return this.commit({ kind: 'selection.delete', label: `Delete ${plural(selected.length, 'Gaussian')}`, change: changeFor(this.history.state, selected, { setFlags: FLAG_DELETED }) });
  }

  // --- history -------------------------------------------------------------------------------------

  /** Undoes the last step; with an empty history nothing happens. */
  undo(): StepOutcome {
    return this.follow(this.history.undo());
  }

  redo(): StepOutcome {
    return this.follow(this.history.redo());
  }

  /** Moves to history position `position` (0: before every step). */
  goto(position: number): StepOutcome {
    if (!Number.isInteger(position) || position < 0 || position > this.history.length) {
      throw new SagaError('BAD_ARGUMENT', `History position ${position} does not exist (0 to ${this.history.length}). Refresh the history list and try again.`, { position });
    }
    return this.follow(this.history.goto(position));
  }

  // --- internals -------------------------------------------------------------------------------------

  private commit(edit: Edit): StepOutcome {
    return this.follow(this.history.commit(edit));
  }

  private rowEdit(kind: string, label: string, layer: LayerRecord, patch: Partial<Pick<LayerRecord, 'name' | 'colour' | 'visible' | 'locked'>>): StepOutcome {
    return this.commit({ kind, label, change: emptyChange(), layers: [{ id: layer.id, before: layer, after: { ...layer, ...patch } }] });
  }

  /** Brings layers, display state and selection in line with what the history just applied. */
  private follow(applied: Applied | undefined): StepOutcome {
    if (!applied) return {};
    const before = new Map(this.layers.map((l) => [l.id, l]));
    const unassignedBefore = this.unassignedShown;
    this.display.setLayerDisplay(this.loadLayers());
    // Layers whose look changed (shown, locked, colour): all their Gaussians are redrawn.
    const restyled = applied.layers.filter((id) => {
      const a = before.get(id);
      const b = this.layers.find((l) => l.id === id);
      return a && b && (a.visible !== b.visible || a.locked !== b.locked || a.colour !== b.colour);
    });
    if (applied.unassignedChanged && unassignedBefore !== this.unassignedShown) restyled.push(NO_LAYER);
    this.display.refresh([...applied.changes.map((c) => c.indices), this.display.gaussiansInLayers(restyled)]);
    this.display.refresh([this.selection.restrict(this.display.selectable)]);
    const step = applied.steps.at(-1)!;
    return { step: { ...step }, undone: applied.undone };
  }

  private loadLayers(): LayerDisplay {
    this.layers = listLayers(this.project.db);
    this.unassignedShown = unassignedVisible(this.project);
    const visible = new Uint8Array(65536);
    const locked = new Uint8Array(65536);
    visible[NO_LAYER] = this.unassignedShown ? 1 : 0;
    for (const l of this.layers) {
      visible[l.id] = l.visible ? 1 : 0;
      locked[l.id] = l.locked ? 1 : 0;
    }
    this.lockedIds = locked;
    return { visible, locked };
  }

  private unlocked(id: number, toDo: string): LayerRecord {
    const layer = this.layer(id);
    if (layer.locked) throw locked(layer, toDo);
    return layer;
  }

  private requireSelection(toDo: string): Uint32Array {
    if (this.selection.count === 0) {
      throw new SagaError('NOTHING_SELECTED', `Nothing is selected. Select Gaussians first (click an object in the viewport), then ${toDo}.`);
    }
    return this.selection.indices();
  }

  /** The selection never holds locked Gaussians (it is restricted after every step); this keeps the rule if it ever did. */
  private refuseLockedAmong(indices: Uint32Array, toDo: string): void {
    const layers = this.history.state.layers;
    for (let j = 0; j < indices.length; j++) {
      const id = layers[indices[j]!]!;
      if (this.lockedIds[id]) throw locked(this.layer(id), `${toDo} (some selected Gaussians are in it)`);
    }
  }
}

function locked(layer: LayerRecord, toDo: string): SagaError {
  return new SagaError('LAYER_LOCKED', `The layer "${layer.name}" is locked, so you cannot ${toDo}. Unlock it first.`, { layer: layer.id });
}
