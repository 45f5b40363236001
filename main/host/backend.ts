/**
 * The host-agnostic backend: one object implementing every ApiMethods request on top of scene IO
 * and the project store. The browser-mode WebSocket server, the Electron main process and the
 * in-memory transport all serve it through createBackendServer(). Host specifics (blob URLs,
 * native dialogs, where user data lives) are passed in.
 */
import { statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { defaultModelsDir, defaultUserDataDir } from '../common/user-data.ts';
import type { AppInfo, ApiMethods, HostNotice, InitialOpen, ModelInfo, OpenedScene, PrepareJobProgress, PrepareState, PrepareSummary, ProjectInfo, SourceCheck, TrainingStatus, TrainJobProgress, TrainSummary } from '../contract/api.ts';
import { SagaError, isSagaError } from '../contract/errors.ts';
import { RpcServer, type Handlers, type JobRunner } from '../contract/rpc.ts';
import { ModelManager, type InstalledModel, type RegistryModel } from '../engine/masks/models.ts';
import { prepareViewsInWorker } from '../engine/masks/prepare-worker.ts';
import { AUTO_RECOMMENDATION, type MaskSourceOption, type PrepareResult } from '../engine/masks/prepare.ts';
import { prepareInputOf, trainingInputs } from './project-inputs.ts';
import { noScene, SceneEngine } from './services/scene-engine.ts';
import { runProjectTraining, trainingStatus } from './training-run.ts';
import { FeatureColorCache } from './feature-colors.ts';
import { readManifest, viewDir, viewKey, type MaskSource } from '../engine/masks/storage.ts';
import { validateRequest } from '../contract/validate.ts';
import { sha256File } from '../project/checksum.ts';
import { acquireProjectLock } from '../project/lock.ts';
import { RecentProjects } from '../project/recent.ts';
import { resolveProjectSource, summarizeScene } from '../project/source.ts';
import { APP_VERSION, createProject, isProjectDir, openProject, type Project } from '../project/store.ts';
import { ProjectEditor } from '../project/editor.ts';
import { EditService } from './edit-service.ts';
import { SegmentService } from './segment-service.ts';
import { colourImage } from './sam-prompts.ts';
import { SAM_INPUT_SIZE } from '../engine/masks/sam.ts';
import type { RgbImage } from '../engine/masks/image.ts';
import type { GaussianScene } from '../scene/gaussians.ts';
import type { Camera } from '../scene/camera.ts';
import { encodeScene, openError, readScene } from '../scene/io.ts';
import { sceneInFolder } from '../scene/scene-folder.ts';
import { inspectPath } from './path-content.ts';
import { updateSettings } from '../project/settings.ts';

export interface BackendOptions {
  host: AppInfo['host'];
  /** Where the recent-projects list lives (Electron: app.getPath('userData')). Default {@link defaultUserDataDir}. */
  userDataDir?: string;
  /** The URL the renderer fetches a blob from (browser: blob/<id>, relative to the page under its token; Electron: app://blob/<id>). */
  blobUrl: (id: string) => string;
  /** What the UI should open on load (serve --open, Electron argv). */
  initialOpen?: InitialOpen;
  /** Native open dialog (Electron); absent in browser mode, where the UI asks for a path. */
  openDialog?: (kind: 'scene' | 'project' | 'folder') => Promise<string | null>;
  /** Browser mode: the host takes dropped files at POST /upload (reported in app.info). */
  acceptsUploads?: boolean;
  /** Called after the recent-projects list changed (Electron rebuilds its menu). */
  onRecentChanged?: () => void;
  /** Where SAM models live. Default: {@link defaultModelsDir}, the same folder for every host. */
  modelsDir?: string;
  /** The SAM model registry (default: resources/models.json); tests pass one pointing at a local server. */
  modelRegistry?: RegistryModel[];
}

/** ~/.local/share/saga-studio, or under $XDG_DATA_HOME: where a host without its own keeps user data. */
export { defaultUserDataDir };

/** Bytes a blob URL stands for: in memory, or a file (e.g. a viewer cache in the project's cache/). */
export type BlobEntry = {
  contentType: string;
  /** File name the bytes would have on disk (the viewer's loader picks its parser by extension). */
  fileName: string;
} & ({ bytes: Uint8Array } | { path: string });

/** The bytes of a blob, reading file-backed ones. */
export async function blobBytes(blob: BlobEntry): Promise<Uint8Array> {
  return 'bytes' in blob ? blob.bytes : new Uint8Array(await readFile(blob.path));
}

/**
 * The scene re-encoded for the viewport: INRIA binary PLY with SH degree 0 and no extra
 * properties, rows in the source order (viewer index i = PLY row i). Degree 0 keeps the bytes a
 * quarter of a degree-3 file; the viewport does not evaluate higher bands.
 */
export function encodeViewerPly(scene: GaussianScene): Uint8Array {
  return encodeScene(
    {
      count: scene.count,
      positions: scene.positions,
      scales: scene.scales,
      rotations: scene.rotations,
      opacities: scene.opacities,
      shDegree: 0,
      sh0: scene.sh0,
      shRest: new Float32Array(0),
      extras: [],
    },
    'ply',
  );
}

/** Decide whether a path names a project folder or a scene (file or training output folder). */
export function classifyOpenPath(path: string): InitialOpen {
  const abs = resolve(path);
  return { kind: isProjectDir(abs) ? 'project' : 'scene', path: abs };
}

interface OpenState {
  scene: GaussianScene;
  opened: OpenedScene;
  blobId: string;
}

export class SagaBackend {
  private current: OpenState | undefined;
  private project: Project | undefined;
  private readonly blobs = new Map<string, BlobEntry>();
  private readonly recent: RecentProjects;
  /** Opening and creating run one at a time: they replace the shared current scene/project. */
  private queue: Promise<unknown> = Promise.resolve();

  /**
   * The prepare or train job running for each project folder: one at a time, since two prepares
   * would compute the same views into the same cache and training reads that cache. A prepare job
   * keeps running when its project is closed (its cache stays valid); a training job is stopped
   * (it needs the engine, which the next project's scene takes). Shutdown cancels both.
   */
  private readonly projectJobs = new Map<string, { kind: 'prepare' | 'train'; jobId: string; jobs: JobRunner }>();
  /** The GPU engine, started when training (or segmentation) first needs it. */
  private readonly engine = new SceneEngine({}, (reason, error) => this.engineRestarted(reason, error));
  private readonly noticeListeners = new Set<(notice: HostNotice) => void>();
  /** The open project's feature colours (Features display mode), until a newer checkpoint. */
  private readonly featureColors = new FeatureColorCache();
  /** Running model downloads by model id: two would write the same partial file. */
  private readonly installs = new Map<string, { jobId: string; jobs: JobRunner }>();
  private modelManager: ModelManager | undefined;
  readonly modelsDir: string;

  /** One handler per API method, for an RpcServer (see createBackendServer). */
  readonly handlers: Handlers<ApiMethods>;
  /** The 'edit' namespace: the open project's edits, history, selection and saving. */
  readonly edits = new EditService(() => this.current?.scene);
  /** The 'segment' namespace: prompts to selections on the trained features. */
  readonly segments = new SegmentService({
    scene: () => this.current?.scene, project: () => this.project, edits: this.edits,
    models: () => this.models,
    renderImage: (scene, camera) => this.renderColour(scene, camera),
  });
  private initialOpen: InitialOpen | undefined;

  constructor(private readonly options: BackendOptions) {
    const userDataDir = options.userDataDir ?? defaultUserDataDir();
    this.recent = new RecentProjects(userDataDir);
    // The folder the CLI uses too (not <userDataDir>/models: Electron's userData is elsewhere), so a
    // model installed with `prepare --download` shows here.
    this.modelsDir = options.modelsDir ?? defaultModelsDir();
    this.initialOpen = options.initialOpen;
    this.handlers = this.buildHandlers();
  }

  /** What 'app.info' reports for the UI to open on load (e.g. a second Electron instance's argv). */
  setInitialOpen(open: InitialOpen | undefined): void {
    this.initialOpen = open;
  }

  /** Shut down: stop prepare jobs (finished views stay cached) and downloads (they resume), close the project and drop the scene. */
  close(): void {
    for (const { jobId, jobs } of [...this.projectJobs.values(), ...this.installs.values()]) jobs.cancel(jobId);
    this.closeAll();
    void this.engine.close();
  }

  /**
   * The recents list is a convenience: failing to write it must not turn a project that was
   * created and opened into an error (a retry would then meet PROJECT_EXISTS).
   */
  private touchRecent(dir: string, name: string, scenePath: string): void {
    try {
      this.recent.touch(dir, name, { scenePath });
    } catch (e) {
      console.warn(`Could not update the recent projects list: ${e instanceof Error ? e.message : String(e)}`);
      return;
    }
    this.options.onRecentChanged?.();
  }

  /** Subscribe to notices for every window (createBackendServer forwards them); returns the unsubscribe function. */
  onNotice(listener: (notice: HostNotice) => void): () => void {
    this.noticeListeners.add(listener);
    return () => this.noticeListeners.delete(listener);
  }

  /** The engine died and was replaced: every window hears it (the open project was never in the engine). */
  private engineRestarted(reason: string, error?: Error): void {
    const what = `${reason[0]!.toUpperCase()}${reason.slice(1)}`;
    const message = error
      ? `${what}; it could not be started again (${error.message}). Your project and its edits are safe; training needs the engine: restart the app.`
      : `${what}; it was restarted. Your project, its edits and the selection are safe; a training run that was going ended and can be started again (it resumes from its last checkpoint).`;
    console.error(message);
    for (const l of [...this.noticeListeners]) l({ kind: 'engine-restarted', message, reason });
  }

  /** The GPU engine (started or starting), for tests that end it to check crash recovery. */
  get gpuEngine(): SceneEngine {
    return this.engine;
  }

  /** Bytes behind a blob id, for the host's /blob route or app:// protocol. */
  blob(id: string): BlobEntry | undefined {
    return this.blobs.get(id);
  }

  /** The scene currently open, for engine work in the same process. */
  get openScene(): GaussianScene | undefined {
    return this.current?.scene;
  }

  get openProject(): Project | undefined {
    return this.project;
  }

  private buildHandlers(): Handlers<ApiMethods> {
    return {
      'app.info': () => ({
        version: APP_VERSION,
        host: this.options.host,
        ...(this.initialOpen ? { initialOpen: this.initialOpen } : {}),
        ...(this.options.acceptsUploads ? { uploads: true } : {}),
      }),
      'scene.open': ({ path }) => this.serial(() => this.openSceneFile(resolve(path))),
      'scene.close': () => this.serial(async () => {
        this.closeAll();
        return null;
      }),
      'project.create': ({ dir, source, images }) => this.serial(() => this.createProjectFrom(resolve(dir), source, images)),
      'project.open': ({ dir }) => this.serial(() => this.openProjectDir(resolve(dir))),
      'project.close': () => this.serial(async () => {
        this.closeAll();
        return null;
      }),
      // Projects moved or deleted since are left out: they cannot be opened from the list.
      'project.recent': () => this.recent.list().filter((p) => isProjectDir(p.dir)),
      'project.setSettings': (change) => this.serial(async () => updateSettings(this.requireProject('store its settings'), change)),
      'path.inspect': ({ path }) => inspectPath(path, this.recent.list()),
      'project.verifySource': (_params, { jobs }) => {
        const project = this.requireProject('verify its source file');
        const { scenePath, checksum } = project.sceneSource();
        return jobs.start('verify-source', async (signal, report): Promise<SourceCheck> => {
          let actual: string | null;
          try {
            actual = await sha256File(scenePath, { signal, onProgress: report });
          } catch (e) {
            if (e instanceof SagaError && e.code === 'FILE_NOT_FOUND') actual = null;
            else throw e;
          }
          return { path: scenePath, expected: checksum, actual, ok: actual === checksum };
        });
      },
      // Queued behind opens and creates, so they act on the project the UI asked for last.
      'project.prepare': (params, { jobs }) => this.serial(async () => this.startPrepare(params, jobs)),
      'project.prepared': () => this.serial(async () => this.prepareState(this.requireProject('show how far its views are prepared'))),
      'project.train': (params, { jobs }) => this.serial(async () => this.startTrain(params, jobs)),
      'project.training': () => this.serial(async () => this.trainingState(this.requireProject('show how far its features are trained'))),
      'project.featureColors': () => this.serial(async () => {
        const project = this.requireProject('colour by its features');
        return this.featureColors.colors(project.dir, this.current?.scene.count ?? project.sceneSource().count);
      }),
      'models.list': () => this.models.list().map(modelInfo),
      'models.install': ({ id }, { jobs }) => this.startInstall(id, jobs),
      'dialog.openPath': ({ kind }) => (this.options.openDialog ? this.options.openDialog(kind) : null),
      'blob.get': async ({ id }) => {
        const blob = this.blobs.get(id);
        if (!blob) throw new SagaError('FILE_NOT_FOUND', 'That scene data is no longer available (another scene was opened since). Open the scene again.', { id });
        return blobBytes(blob);
      },
      ...this.edits.handlers,
      ...this.segments.handlers,
    };
  }

  /**
   * A camera's colour image for SAM's encoder (a SAM prompt in a free camera): rendered by the
   * engine with the longest side at most SAM's 1024-pixel input, which the encoder resizes to anyway.
   */
  private async renderColour(scene: GaussianScene, camera: Camera): Promise<RgbImage> {
    const s = Math.min(1, SAM_INPUT_SIZE / Math.max(camera.width, camera.height));
    const lease = await this.engine.lease(scene);
    try {
      const out = await lease.engine.render(camera, { width: Math.max(1, Math.round(camera.width * s)), height: Math.max(1, Math.round(camera.height * s)) });
      return colourImage(out.color, out.width, out.height);
    } finally {
      lease.release();
    }
  }

  /** The SAM model manager, made on first use: a missing registry file fails model requests only, not the app. */
  get models(): ModelManager {
    this.modelManager ??= new ModelManager({ modelsDir: this.modelsDir, ...(this.options.modelRegistry ? { registry: this.options.modelRegistry } : {}) });
    return this.modelManager;
  }

  /**
   * The job of `running` keyed `key`, if still running. The runner may drop a job without running
   * its work (cancelled before it started), so an entry counts only while the runner lists the job.
   */
  private static runningJob(running: Map<string, { jobId: string; jobs: JobRunner }>, key: string): string | undefined {
    const entry = running.get(key);
    if (!entry) return undefined;
    if (entry.jobs.activeJobIds.includes(entry.jobId)) return entry.jobId;
    running.delete(key);
    return undefined;
  }

  /** The prepare or train job running for a project folder, if any. */
  private runningProjectJob(dir: string): { kind: 'prepare' | 'train'; jobId: string } | undefined {
    const jobId = SagaBackend.runningJob(this.projectJobs, dir);
    return jobId ? { kind: this.projectJobs.get(dir)!.kind, jobId } : undefined;
  }

  private runningPrepare(dir: string): string | undefined {
    const job = this.runningProjectJob(dir);
    return job?.kind === 'prepare' ? job.jobId : undefined;
  }

  /** Refuses a second prepare or train job on one project, naming the one that runs. */
  private refuseBusy(dir: string, wanted: 'prepare' | 'train'): void {
    const job = this.runningProjectJob(dir);
    if (!job) return;
    const what = job.kind === 'prepare' ? 'Masks are being prepared' : 'Features are being trained';
    const then = job.kind === wanted ? 'Wait for that job to finish or cancel it first.' : `Wait for it to finish or cancel it before you ${wanted === 'prepare' ? 'prepare' : 'train'}.`;
    throw new SagaError('BUSY', `${what} for ${dir}. ${then}`, { jobId: job.jobId, dir });
  }

  private startInstall(id: string, jobs: JobRunner): ApiMethods['models.install']['result'] {
    const model = this.models.model(id); // MODEL_NOT_FOUND for an unknown id, before any job
    if (!model.supported) {
      throw new SagaError('MODEL_INVALID', `The model '${id}' is listed for reference but this version cannot run it: ${model.caveat ?? 'unsupported signature'}. Choose another model.`, { id });
    }
    const running = SagaBackend.runningJob(this.installs, id);
    if (running) throw new SagaError('BUSY', `The model '${id}' is already being downloaded. Wait for that download or cancel it first.`, { jobId: running, id });
    const started = jobs.start('model-install', async (signal, report): Promise<ModelInfo> => {
      try {
        await this.models.install(id, { signal, onProgress: (p) => report({ stage: p.stage, done: p.done, total: p.total, ...(p.etaSeconds !== undefined ? { etaSeconds: p.etaSeconds } : {}) }) });
        return modelInfo({ model, installed: this.models.isInstalled(id) });
      } finally {
        // `started` is set: the runner calls this work only after start() returned.
        if (this.installs.get(id)?.jobId === started.jobId) this.installs.delete(id);
      }
    });
    this.installs.set(id, { jobId: started.jobId, jobs });
    return started;
  }

  private requireProject(toDo: string): Project {
    if (!this.project) throw new SagaError('NO_PROJECT', `No project is open, so there is nothing to ${toDo}. Open or create a project first.`);
    return this.project;
  }

  /** Turns the request's mask choice into the engine's option; refuses bad choices before any job starts. */
  private maskSourceFor(masks: string, model: string | undefined): MaskSourceOption {
    if (masks === 'auto') {
      if (model !== undefined) throw new SagaError('BAD_ARGUMENT', "A model is only used with SAM masks: choose masks 'sam', or leave the model out for the built-in default.", { masks, model });
      return { kind: 'auto' };
    }
    if (masks === 'sam') {
      // Without a model choice, the first installed one, recommended models first (as the CLI does).
      const chosen = model ?? this.models.list()
        .filter((m) => m.installed && m.model.supported)
        .sort((a, b) => Number(b.model.recommended ?? false) - Number(a.model.recommended ?? false))[0]?.model.id;
      if (chosen === undefined) {
        throw new SagaError('MODEL_NOT_FOUND', `No SAM model is installed in ${this.models.modelsDir}. Download one in the Training panel (sam_vit_b_quantized is recommended), or prepare with the built-in masks.`, { modelsDir: this.models.modelsDir });
      }
      // Said here in the app's words: the model manager's own message is the command line's.
      if (this.models.registry.some((m) => m.id === chosen) && !this.models.isInstalled(chosen)) {
        throw new SagaError('MODEL_NOT_FOUND', `The SAM model '${chosen}' is not installed in ${this.models.modelsDir}. Download it in the Training panel, or choose another mask source.`, { id: chosen });
      }
      return { kind: 'sam', model: this.models.resolve(chosen) };
    }
    if (model !== undefined) throw new SagaError('BAD_ARGUMENT', 'Imported masks use no model: leave the model out.', { masks, model });
    const folder = resolve(masks);
    let isDir: boolean;
    try {
      isDir = statSync(folder).isDirectory();
    } catch (e) {
      const code = e instanceof Error && 'code' in e ? String(e.code) : '';
      // Only a path that is not there is "not a folder"; a permission error (or any other) is said
      // as it is, or the user would look for a typo in a path that exists.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        const reason = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : e instanceof Error ? e.message : String(e);
        throw new SagaError('FILE_UNREADABLE', `The imported masks folder ${folder} cannot be read (${reason}). Check its permissions, or choose another mask source.`, { masks: folder, code }, { cause: e });
      }
      isDir = false;
    }
    if (!isDir) {
      throw new SagaError('BAD_ARGUMENT', `Masks must be 'auto', 'sam' or a folder of imported masks (<folder>/<image-name>/<k>.png); ${folder} is not a folder.`, { masks: folder });
    }
    return { kind: 'imported', folder };
  }

  private startPrepare({ masks, model, force }: ApiMethods['project.prepare']['params'], jobs: JobRunner): ApiMethods['project.prepare']['result'] {
    const project = this.requireProject('prepare');
    this.refuseBusy(project.dir, 'prepare');
    const views = project.views();
    if (views.length === 0) {
      throw new SagaError(
        'BAD_CAMERAS',
        "This project has no training views to prepare: SAGA learns from views of the scene. Create the project from a 3DGS training output folder (its cameras and images), or, for a scene without photos, make views with 'saga-studio render-views <scene> --orbit 24 --out <folder>' and create a project from that folder.",
        { dir: project.dir },
      );
    }
    const source = this.maskSourceFor(masks, model);
    // The input is read now, from the open project: the job works on files only and keeps going if
    // the project is closed meanwhile.
    const input = prepareInputOf(project);
    const dir = project.dir;
    const started = jobs.start('prepare', async (signal, report): Promise<PrepareSummary> => {
      // The job writes the project's cache after the project may have been closed here: it keeps
      // its own hold on the project's lock, so no other program prepares or trains it meanwhile.
      const lock = acquireProjectLock(dir);
      try {
        const result = await prepareViewsInWorker(input, {
          masks: source,
          ...(force ? { force } : {}),
          signal,
          onProgress: (p) => {
            const progress: PrepareJobProgress = { stage: p.stage, done: p.done, total: p.total, event: p.event, ...(p.view !== undefined ? { view: p.view } : {}), ...(p.etaSeconds !== undefined ? { etaSeconds: p.etaSeconds } : {}), ...(p.error ? { error: p.error } : {}) };
            report(progress);
          },
        });
        return prepareSummary(result);
      } finally {
        lock.release();
        // `started` is set: the runner calls this work only after start() returned.
        if (this.projectJobs.get(dir)?.jobId === started.jobId) this.projectJobs.delete(dir);
      }
    });
    this.projectJobs.set(dir, { kind: 'prepare', jobId: started.jobId, jobs });
    return started;
  }

  private prepareState(project: Project): PrepareState {
    const views = project.views();
    const sources = new Set<MaskSource>();
    let prepared = 0;
    for (const v of views) {
      const manifest = readManifest(viewDir(project.cacheDir, viewKey(v.id, v.name)));
      if (!manifest) continue;
      prepared++;
      sources.add(manifest.source);
    }
    const running = this.runningPrepare(project.dir);
    const only = sources.size === 1 ? [...sources][0] : undefined;
    return {
      views: views.length,
      prepared,
      ...(sources.size > 0 ? { maskSource: only ?? 'mixed' } : {}),
      ...(sources.has('auto') ? { recommendation: AUTO_RECOMMENDATION } : {}),
      ...(running ? { runningJobId: running } : {}),
    };
  }

  private startTrain(params: ApiMethods['project.train']['params'], jobs: JobRunner): ApiMethods['project.train']['result'] {
    const project = this.requireProject('train');
    const scene = this.current?.scene;
    if (!scene) throw noScene();
    this.refuseBusy(project.dir, 'train');
    // Refused before the job starts when nothing is prepared (the run checks again with the cache).
    if (trainingInputs(project).views.length === 0) {
      throw new SagaError('MASKS_MISSING', 'The views of this project are not prepared yet. Run Prepare first, then train.', { dir: project.dir });
    }
    const dir = project.dir;
    const started = jobs.start('train', async (signal, report, control): Promise<TrainSummary> => {
      // The job keeps its own handle on the project: the UI may close its own meanwhile.
      const own = openProject(dir);
      const lease = await this.engine.lease(scene);
      try {
        return await runProjectTraining({
          project: own, engine: lease.engine, count: scene.count, signal, control,
          onProgress: (p) => {
            const progress: TrainJobProgress = {
              stage: p.stage, done: p.iteration, total: p.iterations, iteration: p.iteration,
              ...(p.etaSeconds !== undefined ? { etaSeconds: p.etaSeconds } : {}),
              ...(p.losses ? { losses: p.losses } : {}),
              ...(p.iterationsPerSecond !== undefined ? { iterationsPerSecond: p.iterationsPerSecond } : {}),
              ...(p.view ? { view: p.view } : {}),
              ...(p.phases ? { phases: { ...p.phases } } : {}),
            };
            report(progress);
          },
        }, params);
      } finally {
        lease.release();
        own.close();
        if (this.projectJobs.get(dir)?.jobId === started.jobId) this.projectJobs.delete(dir);
      }
    }, { pausable: true });
    this.projectJobs.set(dir, { kind: 'train', jobId: started.jobId, jobs });
    return started;
  }

  private trainingState(project: Project): TrainingStatus {
    const job = this.runningProjectJob(project.dir);
    const running = job?.kind === 'train' ? job.jobId : undefined;
    const paused = running ? this.projectJobs.get(project.dir)!.jobs.isPaused(running) : false;
    return { ...trainingStatus(project), ...(running ? { runningJobId: running, paused } : {}) };
  }

  /**
   * Close the project and forget the scene; used on shutdown too. `keepTrainingOf`: the project
   * folder being opened again (a reloaded page opens the project it shows): its training job goes
   * on, and the page follows it.
   */
  closeAll(options: { keepTrainingOf?: string } = {}): void {
    const training = this.project ? this.runningProjectJob(this.project.dir) : undefined;
    // Its checkpoint is written as it stops; the next scene waits for the engine (SceneEngine lease).
    if (training?.kind === 'train' && this.project!.dir !== options.keepTrainingOf) this.projectJobs.get(this.project!.dir)!.jobs.cancel(training.jobId);
    this.edits.detach();
    this.segments.reset();
    this.project?.close();
    this.project = undefined;
    this.featureColors.clear();
    if (this.current) this.blobs.delete(this.current.blobId);
    this.current = undefined;
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch((e: unknown) => {
      // The caller receives this error through `run`; the queue only needs to move on.
      void e;
    });
    return run;
  }

  /** Make `scene` the open one and publish its viewer bytes under a fresh blob id. */
  private publish(scene: GaussianScene, path: string): OpenedScene {
    const bytes = encodeViewerPly(scene);
    const blobId = randomUUID();
    if (this.current) this.blobs.delete(this.current.blobId);
    this.blobs.set(blobId, { bytes, contentType: 'application/octet-stream', fileName: 'scene.ply' });
    const opened: OpenedScene = { summary: summarizeScene(scene, path), url: this.options.blobUrl(blobId), urlFormat: 'ply' };
    this.current = { scene, opened, blobId };
    return opened;
  }

  private async openSceneFile(path: string): Promise<OpenedScene> {
    let scenePath = path;
    const info = await stat(path).catch((e: unknown) => {
      // readScene below turns a missing or unreadable path into the right SagaError.
      void e;
      return undefined;
    });
    if (info?.isDirectory()) {
      if (isProjectDir(path)) {
        throw new SagaError('BAD_ARGUMENT', `${path} is a project folder, not a scene. Open it as a project.`, { path });
      }
      scenePath = await sceneInFolder(path);
    }
    // Read first: a bad file leaves whatever was open untouched.
    const scene = await readScene(scenePath);
    this.closeAll();
    return this.publish(scene, scenePath);
  }

  private async createProjectFrom(dir: string, sourcePath: string, images: string | undefined): Promise<{ project: ProjectInfo; scene: OpenedScene }> {
    // Refuse before reading a possibly large scene for nothing.
    if (isProjectDir(dir)) throw new SagaError('PROJECT_EXISTS', `${dir} already holds a project. Open it instead, or choose an empty folder.`, { dir });
    const resolved = await resolveProjectSource(sourcePath, images ? { images } : {});
    const project = createProject(dir, { source: resolved.source });
    let editor: ProjectEditor;
    try {
      editor = ProjectEditor.open(project);
    } catch (e) {
      project.close();
      throw e;
    }
    this.closeAll();
    this.project = project;
    this.edits.attach(editor);
    const info = project.info();
    this.touchRecent(project.dir, info.name, info.scene.path);
    return { project: info, scene: this.publish(resolved.scene, resolved.source.scenePath) };
  }

  private async openProjectDir(dir: string): Promise<{ project: ProjectInfo; scene: OpenedScene }> {
    const project = openProject(dir);
    try {
      const source = project.sceneSource();
      let size: number | undefined;
      try {
        size = (await stat(source.scenePath)).size;
      } catch (e) {
        const code = e instanceof Error && 'code' in e ? String(e.code) : '';
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw openError(source.scenePath, e);
        throw new SagaError('FILE_NOT_FOUND', `The project's scene ${source.scenePath} is missing. Put the file back (or restore it from a backup) and open the project again.`, { path: source.scenePath }, { cause: e });
      }
      if (size !== source.bytes) {
        throw new SagaError('SIZE_MISMATCH', `The project's scene ${source.scenePath} changed since the project was created (${size} bytes, was ${source.bytes}). Restore the original file: the project's edits refer to its rows.`, { path: source.scenePath, size, expected: source.bytes });
      }
      const scene = await readScene(source.scenePath);
      if (scene.count !== source.count) {
        throw new SagaError('SIZE_MISMATCH', `The project's scene ${source.scenePath} now holds ${scene.count} Gaussians, not ${source.count}. Restore the original file.`, { path: source.scenePath });
      }
      // The history is replayed before the open project is replaced: a damaged one leaves it open.
      const editor = ProjectEditor.open(project);
      this.closeAll({ keepTrainingOf: project.dir });
      this.project = project;
      this.edits.attach(editor);
      const info = project.info();
      this.touchRecent(project.dir, info.name, info.scene.path);
      return { project: info, scene: this.publish(scene, source.scenePath) };
    } catch (e) {
      if (this.project !== project) project.close();
      throw e;
    }
  }
}

/** A registry model as the API lists it. */
export function modelInfo({ model, installed }: InstalledModel): ModelInfo {
  const size = model.archive ? model.archive.sizeBytes : model.encoder.sizeBytes !== null && model.decoder.sizeBytes !== null ? model.encoder.sizeBytes + model.decoder.sizeBytes : null;
  return { id: model.id, name: model.name, size, installed, supported: model.supported, ...(model.recommended ? { recommended: true } : {}) };
}

/** The prepare result as the API states it (the engine's result may carry more). */
export function prepareSummary(r: PrepareResult): PrepareSummary {
  return {
    source: r.source,
    sourceDetail: r.sourceDetail,
    ...(r.recommendation ? { recommendation: r.recommendation } : {}),
    done: r.done,
    skipped: r.skipped,
    failed: r.failed,
    views: r.views.map((v) => ({
      id: v.id,
      name: v.name,
      status: v.status,
      ...(v.masks !== undefined ? { masks: v.masks } : {}),
      ...(v.levels !== undefined ? { levels: v.levels } : {}),
      ...(v.error ? { error: v.error } : {}),
    })),
    elapsedMs: r.elapsedMs,
  };
}

export function createBackend(options: BackendOptions): SagaBackend {
  return new SagaBackend(options);
}

/** An RPC server for `backend` that validates every request before dispatch. */
export function createBackendServer(backend: SagaBackend): RpcServer<ApiMethods> {
  const server = new RpcServer<ApiMethods>(backend.handlers, { validate: validateRequest });
  backend.onNotice((notice) => server.notify(notice));
  return server;
}
