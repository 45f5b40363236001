/**
 * Editing the open project as the toolbar, the layers and history panels and the keys drive it:
 * prompts at the viewport's camera (segment.prompt), the layer and selection edits, undo, redo and
 * history jumps (edit.*), and saving the edited scene or a layer (edit.export). The backend owns the
 * state; this class keeps its answer (EditState, the history) and the window's copy of the
 * per-Gaussian display state (display-mirror.ts), and after each answer has the display redraw
 * only the splats that changed.
 */
import type { EditOutcome, EditState, ExportParams, ExportSummary, HistoryStepInfo, JobEvent, SagaApi, SegmentOutcome, SegmentPrompt, SelectionMode } from '../../main/contract/api.ts';
import { decodeDisplayFrame } from '../../main/contract/display-state.ts';
import type { SagaErrorData } from '../../main/contract/errors.ts';
import type { Camera } from '../../main/scene/camera.ts';
import { describeError } from './api/errors.ts';
import { DisplayMirror, mergeChanged, type Changed } from './display-mirror.ts';
import { clickRequest, saveConfirmation, type LastClick } from './edit-actions.ts';
import { promptInView, selectionMode, type Modifiers, type PromptTool } from './prompt-gesture.ts';
import { layerTints, SELECTION_TINT } from './splat-colors.ts';
import type { SplatDisplay } from './splat-display.svelte.ts';
import type { CanvasClick, Viewport } from './viewport/viewport.ts';

/**
 * Performance measures of the last prompt (bench and e2e read them): the request until its first
 * answer is on screen as the selection hint (the raw selection, before 3D post-processing, when the
 * prompt is staged).
 */
export const MEASURE_PREVIEW = 'saga:prompt-preview';
/** The request until its first answer is in the window (the backend's share, transport included). */
export const MEASURE_PROMPT_ANSWER = 'saga:prompt-answer';
/** The request until the finished selection's colours are handed to the viewport (before the frame that draws them). */
export const MEASURE_PROMPT_UPLOADED = 'saga:prompt-uploaded';
/** The request until the finished selection (3D post-processing included) is drawn in the splats' own colours. */
export const MEASURE_PROMPT_FINAL = 'saga:prompt-final';

export interface EditingHooks {
  error(error: SagaErrorData | null): void;
  notice(message: string): void;
  viewport(): Viewport | null;
  /** The open project's training views (by index, as the viewport has them). */
  views(): readonly { name: string; camera: Camera }[];
  /** Asks a yes/no question (the choice dialog); true when confirmed. */
  confirm(title: string, message: string, yes: string): Promise<boolean>;
}

/** Edits that take no parameters, by their API method. */
type PlainEdit = 'edit.undo' | 'edit.redo' | 'edit.invertSelection' | 'edit.clearSelection' | 'edit.deleteSelected';

export class Editing {
  state = $state.raw<EditState | null>(null);
  history = $state.raw<HistoryStepInfo[]>([]);
  tool = $state<PromptTool>('click');
  /** A prompt or an edit is in flight (the toolbar says so; new prompts wait for it). */
  working = $state(false);
  /** Milliseconds from the last prompt's request to its selection drawn. */
  previewMs = $state<number | null>(null);
  /** Milliseconds from the last prompt's request to its finished selection drawn (after a preview, later). */
  finalMs = $state<number | null>(null);
  /** The backend's milliseconds per phase of the last prompt (segment.prompt timings). */
  promptTimings = $state.raw<Record<string, number> | null>(null);
  /** The save running in this window, while it runs. */
  saving = $state<{ jobId: string; path: string } | null>(null);
  lastSave = $state<ExportSummary | null>(null);

  private mirror: DisplayMirror | null = null;
  private generation = 0;
  private lastClick: LastClick | null = null;
  private saveDone: ((event: JobEvent) => void) | null = null;
  /** Edits are applied one after the other, so display frames arrive in version order. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly api: SagaApi,
    private readonly display: SplatDisplay,
    private readonly hooks: EditingHooks,
  ) {}

  /** Forget the project (closed, or another scene shown). */
  reset(): void {
    this.generation++;
    this.state = null;
    this.history = [];
    this.mirror = null;
    this.lastClick = null;
    this.previewMs = null;
    this.finalMs = null;
    this.lastSave = null;
    // The display forgets the edit state itself (SplatDisplay.reset) when the scene goes.
  }

  /** After the project's scene is in the viewport: its edit state, drawn, and its history. */
  async load(): Promise<void> {
    const generation = this.generation;
    try {
      const [state, frame, history] = await Promise.all([
        this.api.call('edit.state', {}),
        this.api.call('edit.display', {}),
        this.api.call('edit.history', {}),
      ]);
      if (generation !== this.generation) return;
      this.mirror = new DisplayMirror(decodeDisplayFrame(frame));
      this.state = state;
      this.history = history.steps;
      this.display.showEditState(this.mirror, layerTints(state.layers));
    } catch (e) {
      if (generation === this.generation) this.hooks.error(describeError(e));
    }
  }

  /** A click on the scene: a one-point prompt (Alt: a negative point added to the last click). */
  async click(click: CanvasClick): Promise<void> {
    const viewport = this.hooks.viewport();
    if (!viewport || !this.mirror) return;
    const camera = viewport.camera();
    const request = clickRequest(click, click, camera, this.lastClick, this.tool === 'sam');
    await this.segment(request.prompt, request.mode, camera, request.remember);
  }

  /** A drawn prompt (scribble, box, lasso mask) in canvas pixels of the viewport's camera now. */
  async drawn(prompt: SegmentPrompt, modifiers: Modifiers): Promise<void> {
    const viewport = this.hooks.viewport();
    if (!viewport || !this.mirror) return;
    await this.segment(prompt, selectionMode(modifiers), viewport.camera(), null);
  }

  private async segment(prompt: SegmentPrompt, mode: SelectionMode, camera: Camera, remember: LastClick | null): Promise<void> {
    const viewport = this.hooks.viewport();
    if (!viewport) return;
    const generation = this.generation;
    // At a training view exactly, name it: the engine can use its prepared masks there.
    const at = viewport.atView();
    const view = at !== null ? this.hooks.views()[at] : undefined;
    const inView = view ? promptInView(prompt, camera, view.camera) : null;
    const target = view && inView ? { view: view.name, prompt: inView } : { camera, prompt };
    // Replacing the selection at a free camera goes in two requests: first the raw selection,
    // without the 3D post-processing that takes most of the host's time at 300k Gaussians; then the
    // finished one replaces it. Other modes combine with the selection in the host, where a preview
    // would be combined twice; at a training view the view's threshold, not the post-processing, is
    // the slow part. Those go in one request. Every answer shows at once as the viewport's selection
    // hint (a flat overlay, tens of milliseconds); the splats are recoloured once, for the last
    // answer, because a frame of them takes hundreds of milliseconds on a software GPU.
    const staged = mode === 'replace' && !('view' in target);
    await this.serial(async () => {
      const start = performance.now();
      const shown = (measure: string) => {
        const ms = performance.now() - start;
        performance.measure(measure, { start, end: start + ms });
        return ms;
      };
      const hint = async (out: SegmentOutcome) => {
        await viewport.showSelectionHint(out.bits, SELECTION_TINT);
        if (generation === this.generation) this.previewMs = shown(MEASURE_PREVIEW);
      };
      // What the mirror took in but the splats do not show yet: drawn in the end, also when the
      // finished request fails after the preview (the host keeps the preview's selection then).
      let undrawn: Changed | null = null;
      let finished = false;
      try {
        if (staged) {
          const preview = await this.api.call('segment.prompt', { ...target, mode, post: false });
          shown(MEASURE_PROMPT_ANSWER);
          undrawn = await this.takeSelection(preview, generation);
          if (!undrawn) return;
          await hint(preview);
        }
        const out = await this.api.call('segment.prompt', { ...target, mode });
        if (!staged) shown(MEASURE_PROMPT_ANSWER);
        const flipped = await this.takeSelection(out, generation);
        if (!flipped) return;
        undrawn = undrawn ? mergeChanged(undrawn, flipped) : flipped;
        if (!staged) await hint(out);
        finished = true;
      } finally {
        if (undrawn && generation === this.generation) {
          this.display.redraw(undrawn);
          if (finished) shown(MEASURE_PROMPT_UPLOADED);
          // The frame that draws them also takes the hint away (also when no splat changed).
          viewport.dropSelectionHint();
          await viewport.whenDrawn();
          if (finished) {
            this.finalMs = shown(MEASURE_PROMPT_FINAL);
            this.lastClick = remember;
          }
        }
      }
    });
  }

  /**
   * A segmentation answer into the state and the display mirror, without drawing it: returns the
   * Gaussians whose selected bit flipped (the caller redraws them), or null when the answer came for
   * another project. When other changes came between, they are fetched and drawn at once.
   */
  private async takeSelection(out: SegmentOutcome, generation: number): Promise<Uint32Array | null> {
    if (generation !== this.generation || !this.mirror) return null;
    const { bits, prompted: _prompted, timings, ...state } = out;
    this.promptTimings = timings;
    const { flipped, current } = this.mirror.applySelection(bits, out.version);
    if (!current) await this.sync(generation);
    this.state = state;
    return generation === this.generation ? flipped : null;
  }

  undo(): Promise<void> {
    return this.plain('edit.undo');
  }

  redo(): Promise<void> {
    return this.plain('edit.redo');
  }

  invertSelection(): Promise<void> {
    return this.plain('edit.invertSelection');
  }

  clearSelection(): Promise<void> {
    return this.plain('edit.clearSelection');
  }

  deleteSelected(): Promise<void> {
    if (!this.state || this.state.selected === 0) return Promise.resolve();
    return this.plain('edit.deleteSelected');
  }

  private plain(method: PlainEdit): Promise<void> {
    return this.apply(() => this.api.call(method, {}));
  }

  goto(position: number): Promise<void> {
    return this.apply(() => this.api.call('edit.goto', { position }));
  }

  newLayer(name?: string, colour?: string): Promise<void> {
    if (!this.state || this.state.selected === 0) {
      this.hooks.error({ code: 'BAD_ARGUMENT', message: 'Select something first (click an object with a prompt tool): a new layer holds the selected Gaussians.' });
      return Promise.resolve();
    }
    const params = { ...(name?.trim() ? { name: name.trim() } : {}), ...(colour ? { colour } : {}) };
    return this.apply(() => this.api.call('edit.newLayer', params));
  }

  renameLayer(layer: number, name: string): Promise<void> {
    return this.apply(() => this.api.call('edit.renameLayer', { layer, name }));
  }

  recolourLayer(layer: number, colour: string): Promise<void> {
    return this.apply(() => this.api.call('edit.recolourLayer', { layer, colour }));
  }

  showLayer(layer: number, visible: boolean): Promise<void> {
    return this.apply(() => this.api.call('edit.showLayer', { layer, visible }));
  }

  isolateLayer(layer: number): Promise<void> {
    return this.apply(() => this.api.call('edit.isolateLayer', { layer }));
  }

  lockLayer(layer: number, locked: boolean): Promise<void> {
    return this.apply(() => this.api.call('edit.lockLayer', { layer, locked }));
  }

  deleteLayer(layer: number): Promise<void> {
    return this.apply(() => this.api.call('edit.deleteLayer', { layer }));
  }

  mergeLayers(into: number, layers: number[]): Promise<void> {
    return this.apply(() => this.api.call('edit.mergeLayers', { into, layers }));
  }

  moveSelection(layer: number): Promise<void> {
    return this.apply(() => this.api.call('edit.moveSelection', { layer }));
  }

  /**
   * Saves the edited scene (or one layer) to `path`. Replacing an existing file, and above all the
   * project's source scene, is asked first; the backend refuses both without the confirmation.
   */
  async save(path: string, options: { layer?: number; features?: boolean } = {}): Promise<ExportSummary | null> {
    if (this.saving || !this.state) return null;
    const params: ExportParams = { path, ...(options.layer !== undefined ? { layer: options.layer } : {}), ...(options.features ? { features: true } : {}) };
    for (;;) {
      try {
        return await this.runSave(params);
      } catch (e) {
        const error = describeError(e);
        const ask = saveConfirmation(error, params);
        if (!ask) {
          this.hooks.error(error);
          return null;
        }
        if (!(await this.hooks.confirm(ask.title, ask.message, ask.yes))) return null;
        params[ask.grant] = true;
      }
    }
  }

  private async runSave(params: ExportParams): Promise<ExportSummary | null> {
    const started = await this.api.call('edit.export', params);
    this.saving = { jobId: started.jobId, path: params.path };
    try {
      const event = await new Promise<JobEvent>((resolve) => {
        this.saveDone = resolve;
      });
      if (event.kind === 'error') {
        // Thrown to save(), which asks before overwriting and shows anything else.
        throw event.error;
      }
      if (event.kind !== 'result') return null;
      const summary = event.result as ExportSummary;
      this.lastSave = summary;
      this.hooks.notice(`Saved ${summary.count.toLocaleString('en-US')} Gaussians to ${summary.path}.`);
      return summary;
    } finally {
      this.saving = null;
      this.saveDone = null;
    }
  }

  /** A job event: true when it was this window's save. */
  handle(event: JobEvent): boolean {
    if (!this.saving || event.jobId !== this.saving.jobId) return false;
    if (event.kind !== 'progress') this.saveDone?.(event);
    return true;
  }

  /** The host went away: a running save will never report. */
  disconnected(error: SagaErrorData): void {
    this.saveDone?.({ jobId: this.saving?.jobId ?? '', kind: 'error', error });
  }

  /** Runs one edit: its answer becomes the state, and the splats it changed are drawn again. */
  private apply(request: () => Promise<EditOutcome>): Promise<void> {
    if (!this.mirror) return Promise.resolve();
    const generation = this.generation;
    return this.serial(async () => {
      const out = await request();
      if (generation !== this.generation) return;
      const { step: _step, undone: _undone, ...state } = out;
      this.display.setLayerTints(layerTints(state.layers));
      this.state = state;
      await this.sync(generation);
      // Selections are not history steps; everything else may be.
      if (out.step || state.steps !== this.history.length) await this.refreshHistory(generation);
    });
  }

  /** Brings the display mirror to the backend's version and redraws what changed. */
  private async sync(generation: number): Promise<void> {
    const mirror = this.mirror;
    if (!mirror) return;
    const frame = decodeDisplayFrame(await this.api.call('edit.display', { since: mirror.version }));
    if (generation !== this.generation || this.mirror !== mirror) return;
    this.display.redraw(mirror.apply(frame));
  }

  private async refreshHistory(generation: number): Promise<void> {
    const history = await this.api.call('edit.history', {});
    if (generation === this.generation) this.history = history.steps;
  }

  /** One request at a time; a failure is shown and the next request still runs. */
  private serial(work: () => Promise<void>): Promise<void> {
    const next = this.queue.then(async () => {
      this.working = true;
      try {
        await work();
      } catch (e) {
        this.hooks.error(describeError(e));
      } finally {
        this.working = false;
      }
    });
    this.queue = next;
    return next;
  }
}
