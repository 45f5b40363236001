/**
 * The editor's state and the actions on it (open a scene, create/open/close a project), shared by
 * every component. Talks to the backend only through the SagaApi and to the GPU only through the
 * Viewport interface, so both can be replaced in tests or in another host.
 */
import type {
  AppInfo,
  HostNotice,
  JobEvent,
  JobProgress,
  ModelInfo,
  OpenedScene,
  PathContent,
  PrepareJobProgress,
  PrepareState,
  PrepareSummary,
  ProjectInfo,
  RecentProject,
  SagaApi,
  SourceCheck,
} from '../../main/contract/api.ts';
import type { SagaErrorData } from '../../main/contract/errors.ts';
import type { Camera } from '../../main/scene/camera.ts';
import { absoluteUrl } from './api/connect.ts';
import { describeError } from './api/errors.ts';
import { uploadFile } from '../../main/contract/upload.ts';
import { sceneUp } from './viewport/camera-math.ts';
import { suggestedSavePath } from './edit-actions.ts';
import { Editing } from './editing.svelte.ts';
import { FeatureTraining } from './feature-training.svelte.ts';
import { SplatDisplay } from './splat-display.svelte.ts';
import type { Viewport } from './viewport/viewport.ts';

/** Performance marks the time-to-first-frame benchmark reads (bench/ttff.bench.ts). */
export const MARK_OPEN = 'saga:open-request';
export const MARK_FIRST_FRAME = 'saga:first-frame';
export const MEASURE_TTFF = 'saga:ttff';
/** The backend's share of it: the open request until its answer (scene read, re-encoded, published). */
export const MARK_ANSWERED = 'saga:open-answered';
export const MEASURE_BACKEND = 'saga:open-backend';

/** The Training panel's mask choice: built-in default, an installed SAM model, or imported masks. */
export type MaskChoice = { kind: 'auto' } | { kind: 'sam'; model?: string } | { kind: 'folder'; path: string };

/** How the last prepare run of this window ended, when it did not end with a summary. */
export interface PrepareOutcome {
  kind: 'cancelled' | 'failed';
  error: SagaErrorData;
}

/** What the path prompt (browser mode, where there are no native dialogs) is asking for. */
export type PathRequest =
  | { kind: 'scene' }
  | { kind: 'project' }
  | { kind: 'new-project'; source: string }
  /** Save the edited scene, or one layer (Export layer), to a new file. */
  | { kind: 'save'; suggested: string; layer?: { id: number; name: string } };

/** A question the choice dialog shows (Studio.ask): each choice answers with its id, cancelling with null. */
export interface ChoiceRequest {
  title: string;
  message: string;
  choices: { id: string; label: string; primary?: boolean }[];
  cancelLabel: string;
  answer(id: string | null): void;
}

export class Studio {
  info = $state<AppInfo | null>(null);
  project = $state<ProjectInfo | null>(null);
  scene = $state<OpenedScene | null>(null);
  splatCount = $state(0);
  /** Real frame time while the view moves (GPU included), else null. */
  frameMs = $state<number | null>(null);
  /** Script time of the last redraw. */
  drawMs = $state<number | null>(null);
  /** Frames drawn so far (tests wait on it instead of sleeping). */
  frames = $state(0);
  /** What is happening now ("Loading guitar.ply…"), or null when idle. */
  busy = $state<string | null>(null);
  loadPercent = $state<number | null>(null);
  error = $state<SagaErrorData | null>(null);
  /** The host restarted its GPU engine (HostNotice): the engine banner says so until dismissed. */
  engineNotice = $state<HostNotice | null>(null);
  viewsVisible = $state(true);
  selectedView = $state<number | null>(null);
  /** The last view picked in the viewport (a new object per pick), so its row can be brought into sight. */
  pickedView = $state<{ index: number } | null>(null);
  /** The scene is shown upside down relative to its cameras' up (or the 3DGS convention). */
  upFlipped = $state(false);
  recent = $state<RecentProject[]>([]);
  pathRequest = $state<PathRequest | null>(null);
  /** The question the choice dialog is asking, if any. */
  choice = $state<ChoiceRequest | null>(null);
  renderingPaused = $state(false);
  /** The long job this window started and is showing progress for. */
  job = $state<{ id: string; label: string; progress: JobProgress | null } | null>(null);
  /** A short success message (e.g. "Source file unchanged"), cleared by the next action. */
  notice = $state<string | null>(null);
  private jobDone: ((event: JobEvent) => void) | null = null;
  /** How far the open project's views are prepared (null: no project, or not asked yet). */
  prepareState = $state<PrepareState | null>(null);
  /**
   * SAM prompts work: some views were prepared with a SAM model (its image features trained the
   * projection they use; a free camera needs the model, a view its SAM embedding).
   */
  get samPrompts(): boolean {
    const source = this.prepareState?.maskSource;
    return source === 'sam' || source === 'mixed';
  }
  /** The prepare job of the open project this window follows (started here or found running on open). */
  prepareJob = $state<{ id: string; progress: PrepareJobProgress | null } | null>(null);
  /** The last finished prepare run's summary, until the next run or project change. */
  prepareSummary = $state<PrepareSummary | null>(null);
  prepareOutcome = $state<PrepareOutcome | null>(null);
  /** SAM models the host knows (installed or not), for the mask-source choice. */
  models = $state<ModelInfo[]>([]);
  /** The model download this window started (models.install), while it runs. */
  modelInstall = $state<{ id: string; jobId: string; progress: JobProgress | null } | null>(null);
  /** The model the last download in this window installed (the Training panel then chooses it). */
  installedModel = $state<string | null>(null);
  /** Feature training of the open project: status, the followed job, the loss history. */
  readonly training: FeatureTraining;
  /** How the splats are coloured: their own colours or their trained features. */
  readonly display: SplatDisplay;
  /** Prompts, layers, history and saving of the open project. */
  readonly editing: Editing;

  private viewport: Viewport | null = null;
  private loadAbort: AbortController | null = null;

  constructor(
    readonly api: SagaApi,
    private readonly pageUrl: string,
  ) {
    const showError = (error: SagaErrorData) => {
      this.error = error;
    };
    this.display = new SplatDisplay(api, showError);
    this.training = new FeatureTraining(api, { error: showError, ended: () => void this.display.featuresChanged() });
    this.editing = new Editing(api, this.display, {
      error: (error) => {
        this.error = error;
      },
      notice: (message) => {
        this.notice = message;
      },
      viewport: () => this.viewport,
      views: () => this.project?.views ?? [],
      confirm: async (title, message, yes) => (await this.ask({ title, message, choices: [{ id: 'yes', label: yes, primary: true }] })) === 'yes',
    });
  }

  async start(): Promise<void> {
    this.api.onJobEvent((event) => this.onJobEvent(event));
    this.api.onDisconnect((error) => this.onDisconnect(error));
    this.api.onNotice((notice) => {
      if (notice.kind === 'engine-restarted') this.engineNotice = notice;
    });
    const info = await this.run(() => this.api.call('app.info', {}));
    if (!info) return;
    this.info = info;
    await this.refreshRecent();
    if (info.initialOpen?.kind === 'scene') await this.openPath(info.initialOpen.path);
    else if (info.initialOpen?.kind === 'project') await this.openProject(info.initialOpen.path);
  }

  attachViewport(viewport: Viewport): void {
    this.viewport = viewport;
    this.display.attach(viewport);
    viewport.onFrame((stats) => {
      this.drawMs = stats.cpuMs;
      if (stats.intervalMs !== null) this.frameMs = stats.intervalMs;
      this.frames = stats.frames;
    });
    viewport.onViewPicked((index) => {
      this.selectedView = index;
      this.pickedView = { index };
    });
    viewport.onFailure((message) => {
      this.error = { code: 'GPU_ERROR', message };
    });
    viewport.onClick((click) => {
      if (this.project && this.editing.state) void this.editing.click(click);
    });
  }

  /** The number of Gaussians drawn: the scene's, less those deleted or hidden in the open project. */
  get shownCount(): number {
    if (this.splatCount === 0) return 0;
    return this.editing.state?.count === this.splatCount ? this.editing.state.shown : this.splatCount;
  }

  /** "Save edited scene" (Ctrl+S), or "Export layer" with a layer: asks for the file (the path prompt). */
  chooseSavePath(layer?: { id: number; name: string }): void {
    const project = this.project;
    if (!project || !this.editing.state) {
      this.error = { code: 'BAD_ARGUMENT', message: 'Open a project first: saving writes the edits of a project as a new scene file.' };
      return;
    }
    this.pathRequest = { kind: 'save', suggested: suggestedSavePath(project.dir, project.name, layer?.name), ...(layer ? { layer } : {}) };
  }

  dismissError(): void {
    this.error = null;
  }

  dismissEngineNotice(): void {
    this.engineNotice = null;
  }

  /** "Open Scene…": a native dialog in Electron, the path prompt in the browser. */
  async chooseScene(): Promise<void> {
    const path = await this.askPath('scene');
    if (path) await this.openPath(path);
    else if (path === null) this.pathRequest = { kind: 'scene' };
  }

  async chooseProject(): Promise<void> {
    const path = await this.askPath('project');
    if (path) await this.openProject(path);
    else if (path === null) this.pathRequest = { kind: 'project' };
  }

  /** "New Project from…": the current scene (or `source`) is the default source. */
  async chooseNewProject(source = this.scene?.summary.path ?? this.project?.scene.path ?? ''): Promise<void> {
    if (this.info?.host === 'electron') {
      const src = source || (await this.askPath('scene'));
      if (!src) return;
      const dir = await this.askPath('folder');
      if (dir) await this.createProject(dir, src);
      return;
    }
    this.pathRequest = { kind: 'new-project', source };
  }

  /**
   * "Open Scene" on any path: a project folder opens as the project; a 3DGS training output (or a
   * scene inside one) gets the offer to open or create its project, since SAGA needs the views; a
   * bare scene opens, after asking if it would close the open project.
   */
  async openPath(path: string): Promise<void> {
    // Timed from here: looking at the path is part of opening it (a question asked restarts the clock).
    startOpenMarks();
    const content = await this.run(() => this.api.call('path.inspect', { path }), `Looking at ${fileName(path)}…`);
    if (!content) return;
    if (content.kind === 'project') await this.openProject(content.dir);
    else if (content.kind === 'training-output') await this.offerProject(content);
    else if (!this.project) await this.loadScene(content.path);
    else if (await this.mayCloseProject(content.path)) await this.openScene(content.path);
  }

  private async offerProject(output: Extract<PathContent, { kind: 'training-output' }>): Promise<void> {
    const existing = output.projects[0];
    const closing = this.project ? ` Viewing the scene alone closes the project “${this.project.name}” (everything in it is saved).` : '';
    const answer = await this.ask({
      title: 'A 3DGS training output',
      message:
        `${fileName(output.dir)} holds a trained scene with ${output.views} training view${output.views === 1 ? '' : 's'}. ` +
        (existing
          ? `The project “${existing.name}” was made from it: open it to segment the scene, or view the scene alone.`
          : 'To segment it, SAGA needs a project made from it (the scene and images are referenced, not copied). Create one, or view the scene alone.') +
        closing,
      choices: [
        { id: 'scene', label: 'View the scene only' },
        existing ? { id: 'open', label: `Open project “${existing.name}”`, primary: true } : { id: 'create', label: 'Create a project…', primary: true },
      ],
    });
    if (answer === 'open' && existing) await this.openProject(existing.dir);
    else if (answer === 'create') await this.chooseNewProject(output.dir);
    else if (answer === 'scene') await this.openScene(output.scenePath);
  }

  /** Opening a bare scene closes the open project: say so and let the person choose. */
  private async mayCloseProject(scene: string): Promise<boolean> {
    if (!this.project) return true;
    const answer = await this.ask({
      title: 'Close the project?',
      message: `Opening ${fileName(scene)} closes the project “${this.project.name}”. Everything in it is saved; reopen it from Recent projects.`,
      choices: [{ id: 'open', label: 'Close it and open the scene', primary: true }],
      cancelLabel: 'Keep the project',
    });
    return answer === 'open';
  }

  /** Asks with the choice dialog; resolves with the chosen id, or null when cancelled. */
  ask(question: Omit<ChoiceRequest, 'answer' | 'cancelLabel'> & { cancelLabel?: string }): Promise<string | null> {
    this.choice?.answer(null);
    return new Promise((resolve) => {
      this.choice = {
        ...question,
        cancelLabel: question.cancelLabel ?? 'Cancel',
        answer: (id) => {
          this.choice = null;
          resolve(id);
        },
      };
    });
  }

  async openScene(path: string): Promise<void> {
    startOpenMarks();
    await this.loadScene(path);
  }

  private async loadScene(path: string): Promise<void> {
    const opened = await this.run(() => this.api.call('scene.open', { path }), `Reading ${fileName(path)}…`);
    if (!opened) return;
    markAnswered();
    this.project = null;
    this.resetTraining();
    this.upFlipped = false;
    await this.show(opened, []);
  }

  async createProject(dir: string, source: string): Promise<void> {
    startOpenMarks();
    const created = await this.run(() => this.api.call('project.create', { dir, source }), `Creating project in ${dir}…`);
    if (!created) return;
    markAnswered();
    this.showProject(created.project);
    await this.show(created.scene, created.project.views.map((v) => v.camera));
    await this.refreshRecent();
  }

  async openProject(dir: string): Promise<void> {
    startOpenMarks();
    const opened = await this.run(() => this.api.call('project.open', { dir }), `Opening project ${fileName(dir)}…`);
    if (!opened) return;
    markAnswered();
    this.showProject(opened.project);
    await this.show(opened.scene, opened.project.views.map((v) => v.camera));
    await this.refreshRecent();
  }

  private showProject(project: ProjectInfo): void {
    this.project = project;
    this.upFlipped = project.settings.upFlipped;
    void this.loadTraining();
  }

  async closeProject(): Promise<void> {
    const done = await this.run(() => this.api.call('project.close', {}));
    if (done === undefined) return;
    this.project = null;
    this.resetTraining();
    this.scene = null;
    this.selectedView = null;
    this.splatCount = 0;
    this.display.reset();
    this.editing.reset();
    await this.viewport?.clear();
  }

  /** A scene file dropped on the window. In Electron the path is known; a browser only has the bytes. */
  async dropFile(file: File, path: string | undefined): Promise<void> {
    if (path) {
      await this.openPath(path);
      return;
    }
    if (this.info?.host !== 'browser') {
      this.error = { code: 'BAD_ARGUMENT', message: `Could not tell where "${file.name}" is on disk. Use Open Scene… instead.` };
      return;
    }
    if (!(await this.mayCloseProject(file.name))) return;
    const uploaded = await this.run(() => uploadFile(file, file.name, this.pageUrl), `Uploading ${file.name}…`);
    if (uploaded) await this.openScene(uploaded.path);
  }

  /** Re-hashes the project's source scene (a job with progress) and says whether it changed. */
  async verifySource(): Promise<void> {
    if (!this.project || this.job) return;
    this.notice = null;
    const started = await this.run(() => this.api.call('project.verifySource', {}));
    if (!started) return;
    this.job = { id: started.jobId, label: 'Checking the source scene', progress: null };
    const event = await new Promise<JobEvent>((resolve) => {
      this.jobDone = resolve;
    });
    this.job = null;
    if (event.kind === 'error') {
      if (event.error.code !== 'CANCELLED') this.error = event.error;
      return;
    }
    if (event.kind !== 'result') return;
    const check = event.result as SourceCheck;
    if (check.ok) this.notice = 'The source scene is unchanged since the project was created.';
    else
      this.error = {
        code: 'SIZE_MISMATCH',
        message: check.actual === null
          ? `The project's source scene ${check.path} is missing. Put it back (or restore it from a backup) to keep working on this project.`
          : `The project's source scene ${check.path} changed since the project was created. Restore the original file; edits refer to its rows.`,
      };
  }

  async cancelJob(): Promise<void> {
    const job = this.job;
    if (job) await this.run(() => this.api.call('job.cancel', { jobId: job.id }));
  }

  /**
   * Starts 'project.prepare' for the open project; progress, the summary or the cancellation then
   * arrive as job events (onPrepareEvent). `force` recomputes views that are already prepared.
   */
  async prepare(choice: MaskChoice, force = false): Promise<void> {
    if (!this.project || this.prepareJob) return;
    const params: { masks: string; model?: string; force?: boolean } =
      choice.kind === 'auto' ? { masks: 'auto' } : choice.kind === 'sam' ? { masks: 'sam', ...(choice.model ? { model: choice.model } : {}) } : { masks: choice.path.trim() };
    if (choice.kind === 'folder' && !params.masks) {
      this.error = { code: 'BAD_ARGUMENT', message: 'Enter the folder of imported masks (<folder>/<image-name>/<k>.png), or choose another mask source.' };
      return;
    }
    if (force) params.force = true;
    this.prepareSummary = null;
    this.prepareOutcome = null;
    const started = await this.run(() => this.api.call('project.prepare', params), 'Starting mask preparation…');
    if (!started) return;
    // The host starts the work on its next turn, so no event of this job has arrived yet.
    this.prepareJob = { id: started.jobId, progress: null };
  }

  async cancelPrepare(): Promise<void> {
    const job = this.prepareJob;
    if (job) await this.run(() => this.api.call('job.cancel', { jobId: job.id }));
  }

  /** Downloads a SAM model from the registry as a job; once it is in, SAM masks can be chosen. */
  async installModel(id: string): Promise<void> {
    if (this.modelInstall) return;
    const started = await this.run(() => this.api.call('models.install', { id }), 'Starting the model download…');
    if (!started) return;
    // The host starts the work on its next turn, so no event of this job has arrived yet.
    this.modelInstall = { id, jobId: started.jobId, progress: null };
  }

  async cancelModelInstall(): Promise<void> {
    const install = this.modelInstall;
    if (install) await this.run(() => this.api.call('job.cancel', { jobId: install.jobId }));
  }

  private onModelInstallEvent(event: JobEvent): void {
    if (event.kind === 'progress') {
      if (this.modelInstall) this.modelInstall.progress = event.progress;
      return;
    }
    this.modelInstall = null;
    if (event.kind === 'result') {
      const model = event.result as ModelInfo;
      this.notice = `${model.name} is installed: Prepare now makes SAM masks.`;
      void this.refreshModels().then(() => {
        this.installedModel = model.id;
      });
      return;
    }
    if (event.error.code !== 'CANCELLED') this.error = event.error;
  }

  private async refreshModels(): Promise<void> {
    const models = await this.run(() => this.api.call('models.list', {}));
    if (models) this.models = models;
  }

  /** "Browse…" for the imported masks folder: a native dialog in Electron, none in the browser. */
  async chooseMaskFolder(): Promise<string | null> {
    const path = await this.askPath('folder');
    return path ?? null;
  }

  /** On project open: how far it is prepared and trained, jobs to reattach to, and the models to offer. */
  private async loadTraining(): Promise<void> {
    this.resetTraining();
    void this.training.refresh();
    const dir = this.project?.dir;
    const [state, models] = await Promise.all([this.run(() => this.api.call('project.prepared', {})), this.run(() => this.api.call('models.list', {}))]);
    // Another project was opened meanwhile: these answers are about the old one.
    if (this.project?.dir !== dir) return;
    if (models) this.models = models;
    if (!state) return;
    this.prepareState = state;
    if (state.runningJobId && !this.prepareJob) this.prepareJob = { id: state.runningJobId, progress: null };
  }

  private resetTraining(): void {
    this.training.reset();
    this.prepareState = null;
    this.prepareJob = null;
    this.prepareSummary = null;
    this.prepareOutcome = null;
  }

  private async refreshPrepareState(): Promise<void> {
    const dir = this.project?.dir;
    const state = await this.run(() => this.api.call('project.prepared', {}));
    if (state && this.project?.dir === dir) this.prepareState = state;
  }

  private onPrepareEvent(event: JobEvent): void {
    if (event.kind === 'progress') {
      if (this.prepareJob) this.prepareJob.progress = event.progress as PrepareJobProgress;
      return;
    }
    this.prepareJob = null;
    if (event.kind === 'result') this.prepareSummary = event.result as PrepareSummary;
    else this.prepareOutcome = { kind: event.error.code === 'CANCELLED' ? 'cancelled' : 'failed', error: event.error };
    void this.refreshPrepareState();
    // Prepared views are what training trains on: whether it can start, and whether it is stale.
    void this.training.refresh();
  }

  private onJobEvent(event: JobEvent): void {
    if (this.training.handle(event)) return;
    if (this.editing.handle(event)) return;
    if (this.prepareJob && event.jobId === this.prepareJob.id) {
      this.onPrepareEvent(event);
      return;
    }
    if (this.modelInstall && event.jobId === this.modelInstall.jobId) {
      this.onModelInstallEvent(event);
      return;
    }
    if (!this.job || event.jobId !== this.job.id) return;
    if (event.kind === 'progress') {
      this.job.progress = event.progress;
      return;
    }
    const done = this.jobDone;
    this.jobDone = null;
    done?.(event);
  }

  /**
   * The host is gone: no event of the jobs this window follows will ever arrive. End them here,
   * or their buttons (Verify, Prepare, Train) would stay disabled waiting; the banner says what
   * happened, and any later action fails with the same error rather than hanging.
   */
  private onDisconnect(error: SagaErrorData): void {
    this.error = error;
    this.busy = null;
    this.loadPercent = null;
    if (this.prepareJob) {
      this.prepareJob = null;
      this.prepareOutcome = { kind: 'failed', error };
    }
    if (this.job) {
      const done = this.jobDone;
      this.jobDone = null;
      done?.({ jobId: this.job.id, kind: 'error', error });
      this.job = null;
    }
    this.modelInstall = null;
    this.training.disconnected();
    this.editing.disconnected(error);
  }

  frameScene(): void {
    this.viewport?.frameScene();
  }

  /** The Features display mode (T): splats coloured by their trained features, or their own colours. */
  toggleFeatures(): void {
    if (this.scene && this.project) void this.display.toggleFeatures();
  }

  toggleViews(): void {
    this.viewsVisible = !this.viewsVisible;
    this.viewport?.setViewsVisible(this.viewsVisible);
  }

  /** Turns the scene over (U); a project keeps the choice for the next time it opens. */
  async flipUp(): Promise<void> {
    if (!this.scene) return;
    this.upFlipped = !this.upFlipped;
    this.viewport?.setUp(sceneUp(this.viewCameras(), this.upFlipped));
    if (this.project) {
      const upFlipped = this.upFlipped;
      await this.run(() => this.api.call('project.setSettings', { upFlipped }));
    }
  }

  jumpToView(index: number): void {
    if (!this.project?.views[index]) return;
    this.selectedView = index;
    this.viewport?.jumpToView(index);
  }

  private viewCameras(): Camera[] {
    return this.project?.views.map((v) => v.camera) ?? [];
  }

  toggleRendering(): void {
    this.renderingPaused = !this.renderingPaused;
    if (this.renderingPaused) this.viewport?.pause();
    else this.viewport?.resume();
  }

  private async askPath(kind: 'scene' | 'project' | 'folder'): Promise<string | null | undefined> {
    if (this.info?.host !== 'electron') return null;
    return this.run(() => this.api.call('dialog.openPath', { kind }));
  }

  private async refreshRecent(): Promise<void> {
    const recent = await this.run(() => this.api.call('project.recent', {}));
    if (recent) this.recent = recent;
  }

  /** Shows a scene: at its first training view when it has views, else framed on its bulk. */
  private async show(opened: OpenedScene, views: Camera[]): Promise<void> {
    const viewport = this.viewport;
    if (!viewport) return;
    this.loadAbort?.abort();
    const abort = new AbortController();
    this.loadAbort = abort;
    this.scene = opened;
    this.splatCount = 0;
    this.display.reset();
    this.editing.reset();
    const startView = views.length > 0 ? 0 : undefined;
    this.selectedView = startView ?? null;
    this.loadPercent = 0;
    const loaded = await this.run(
      async () => {
        try {
          return await viewport.load({
            url: absoluteUrl(opened.url, this.pageUrl),
            format: opened.urlFormat,
            signal: abort.signal,
            onProgress: (p) => {
              this.loadPercent = p;
            },
            up: sceneUp(views, this.upFlipped),
            views,
            ...(startView !== undefined ? { startView } : {}),
          });
        } catch (e) {
          // Replaced by a newer open: not an error the user needs to see.
          if (abort.signal.aborted) return undefined;
          throw e;
        }
      },
      `Loading ${opened.summary.count.toLocaleString('en-US')} splats…`,
    );
    this.loadPercent = null;
    if (!loaded || abort.signal.aborted) return;
    viewport.setViewsVisible(this.viewsVisible);
    this.splatCount = loaded.splatCount;
    performance.mark(MARK_FIRST_FRAME);
    performance.measure(MEASURE_TTFF, MARK_OPEN, MARK_FIRST_FRAME);
    if (this.project) await this.editing.load();
  }

  /** Runs one action with a busy message; a failure lands in the error banner and the app carries on. */
  private async run<T>(action: () => Promise<T>, busy?: string): Promise<T | undefined> {
    if (busy) {
      this.busy = busy;
      this.notice = null;
    }
    try {
      const result = await action();
      // A user action that worked replaces the last error; background refreshes leave it shown.
      if (busy) this.error = null;
      return result;
    } catch (e) {
      this.error = describeError(e);
      return undefined;
    } finally {
      if (busy) this.busy = null;
    }
  }
}

function startOpenMarks(): void {
  for (const m of [MARK_OPEN, MARK_ANSWERED, MARK_FIRST_FRAME]) performance.clearMarks(m);
  for (const m of [MEASURE_TTFF, MEASURE_BACKEND]) performance.clearMeasures(m);
  performance.mark(MARK_OPEN);
}

function markAnswered(): void {
  performance.mark(MARK_ANSWERED);
  performance.measure(MEASURE_BACKEND, MARK_OPEN, MARK_ANSWERED);
}

function fileName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}
