/**
 * The one API the UI uses, in every host (Electron MessagePort, browser-mode WebSocket, in-memory).
 * Requests map a method name to typed params and result; long work is a job: the request returns a
 * job id at once and progress/result/error arrive as JobEvents. Large data (scene bytes) never rides
 * in JSON: results carry a URL the renderer fetches (browser: blob/<id> beside the page, under its token; Electron: app://blob/<id>),
 * and a message holding typed arrays (a 'blob.get', 'edit.display' or 'project.featureColors' result,
 * a 'segment.prompt' mask) travels as one binary frame (binary-frame.ts).
 * The RPC and transports are in rpc.ts and transports/; requests are checked by validate.ts.
 */
import type { Camera } from '../scene/camera.ts';
import type { SceneFormat, ShDegree } from '../scene/gaussians.ts';
import type { SagaErrorData } from './errors.ts';

export interface SceneSummary {
  path: string;
  format: SceneFormat;
  count: number;
  shDegree: ShDegree;
  bounds: { min: [number, number, number]; max: [number, number, number] };
  properties: string[];
}

/** A loaded scene as the renderer sees it: its summary and where to fetch viewer-ready bytes. */
export interface OpenedScene {
  summary: SceneSummary;
  /** URL of the scene re-encoded for the viewport (row order kept: viewer index i = PLY row i). */
  url: string;
  /** File format of the bytes at `url`, for the viewer's loader. */
  urlFormat: 'ply' | 'splat';
}

export interface ViewInfo {
  id: number;
  name: string;
  camera: Camera;
  imagePath?: string;
}

/** How the UI shows a project, kept in the project (not in one browser's storage). */
export interface ProjectSettings {
  /** The scene is shown upside down relative to the up its cameras (or the 3DGS convention) give. */
  upFlipped: boolean;
}

export interface ProjectInfo {
  dir: string;
  name: string;
  createdAt: string;
  scene: SceneSummary & { checksum: string };
  views: ViewInfo[];
  settings: ProjectSettings;
  /** The training images folder recorded at import, when there is one. */
  imagesDir?: string;
  /** Names of views whose image file is not on disk now (training needs them). */
  missingImages?: string[];
}

export interface RecentProject {
  dir: string;
  name: string;
  openedAt: string;
  /** The scene file the project edits (absent in lists written before it was recorded). */
  scenePath?: string;
}

/**
 * What a path given to "Open Scene" holds, so the UI can offer the right thing: a project folder;
 * a 3DGS training output (a folder, or a scene file inside one, with cameras), which wants a
 * project; or a scene to view (a file, or a folder with one scene and no cameras).
 */
export type PathContent =
  | { kind: 'project'; dir: string }
  | {
      kind: 'training-output';
      /** The training output folder. */
      dir: string;
      scenePath: string;
      views: number;
      /** Recent projects made from this scene, newest first. */
      projects: RecentProject[];
    }
  | { kind: 'scene'; path: string };

/** What the host was asked to open at start (browser mode `serve --open <path>`, Electron argv). */
export interface InitialOpen {
  kind: 'scene' | 'project';
  path: string;
}

export interface AppInfo {
  version: string;
  host: 'electron' | 'browser' | 'memory';
  /** The UI opens this on load (scene.open or project.open). */
  initialOpen?: InitialOpen;
  /**
   * Browser mode: a dropped file (which has no path the host can read) can be sent with
   * uploadFile() from main/contract/upload.ts; open the path it returns.
   */
  uploads?: boolean;
}

/** The answer to a request that starts a long job: progress/result/error arrive as JobEvents. */
export interface JobStarted {
  jobId: string;
}

/** Result event payload of 'project.verifySource'. */
export interface SourceCheck {
  path: string;
  /** sha256 recorded when the project was created. */
  expected: string;
  /** sha256 of the file now, or null when it is missing. */
  actual: string | null;
  ok: boolean;
}

/** Where a prepared view's masks came from: SAM, the built-in classical default, or a folder. */
export type MaskSourceKind = 'sam' | 'auto' | 'imported';

/** One view's outcome in a prepare run. */
export interface PreparedViewSummary {
  id: number;
  name: string;
  status: 'done' | 'skipped' | 'failed';
  /** Masks kept for the view (done or skipped views). */
  masks?: number;
  /** Granularity levels among them (auto masks nest over several; SAM and imported use their own). */
  levels?: number;
  /** Why the view failed; the other views still ran. */
  error?: SagaErrorData;
}

/** Result event payload of 'project.prepare'. */
export interface PrepareSummary {
  source: MaskSourceKind;
  /** SAM model id, imported masks folder, or the built-in algorithm's name. */
  sourceDetail: string;
  /** Set when the built-in default was used: which SAM model to install for SAGA-quality masks. */
  recommendation?: string;
  /** Views computed in this run, found already prepared (skipped), and failed. */
  done: number;
  skipped: number;
  failed: number;
  views: PreparedViewSummary[];
  elapsedMs: number;
}

/**
 * Progress events of 'project.prepare': JobProgress (stage 'prepare', done = views handled of
 * total) plus which view the event is about. Events may be thinned to a few a second; the result
 * lists every view.
 */
export interface PrepareJobProgress extends JobProgress {
  view?: string;
  event?: 'start' | 'view-done' | 'view-skipped' | 'view-failed';
  /** With 'view-failed': why that view failed (the job goes on with the others). */
  error?: SagaErrorData;
}

/** A SAM model the app knows, for a model picker. */
export interface ModelInfo {
  id: string;
  name: string;
  /** Download size in bytes (archive, or encoder + decoder), null when the registry does not say. */
  size: number | null;
  installed: boolean;
  /** False for models listed for reference that this version cannot run. */
  supported: boolean;
  recommended?: boolean;
}

/** How far the open project's views are prepared (masks and features cached), for the UI on open. */
export interface PrepareState {
  /** Training views of the project. */
  views: number;
  /** Views with finished masks in the cache. */
  prepared: number;
  /** Source of the prepared views' masks; 'mixed' when views differ. Absent when none is prepared. */
  maskSource?: MaskSourceKind | 'mixed';
  /** Set when prepared masks come from the built-in default: what to install for better masks. */
  recommendation?: string;
  /** A prepare job running for this project now: its events carry this id (attach a progress bar). */
  runningJobId?: string;
}

/** Which loss a training run leaves out (the paper's ablations). */
export type TrainAblation = 'corr' | 'guidance';

/** How far the open project's features are trained, for the Training panel. */
export interface TrainingStatus {
  /**
   * missing: never trained; partial: a run stopped before its target (train again to resume);
   * trained: reached its target; failed: the last run failed (its checkpoint, if any, is kept).
   */
  state: 'missing' | 'partial' | 'trained' | 'failed';
  /** Views were prepared again since the features were trained on them: train again. */
  stale: boolean;
  iteration: number;
  iterations: number;
  seed?: number;
  ablate?: TrainAblation;
  /** Prepared views with masks (what training uses). */
  trainableViews: number;
  /** A training job running for this project now (attach its progress). */
  runningJobId?: string;
  paused?: boolean;
  /** Mean losses over spans of iterations, for the plot. */
  losses: { iteration: number; guidance: number; corr: number }[];
  error?: SagaErrorData;
}

/** Progress events of 'project.train' (stage 'train': done = iteration; 'prepare-view': a view's lists). */
export interface TrainJobProgress extends JobProgress {
  iteration?: number;
  /** Mean losses since the previous event (unweighted). */
  losses?: { guidance: number; corr: number };
  iterationsPerSecond?: number;
  view?: string;
  /** Mean milliseconds per iteration in each phase. */
  phases?: Record<string, number>;
}

/** Result event payload of 'project.train'. */
export interface TrainSummary {
  iteration: number;
  iterations: number;
  /** Iterations run by this job (0 when the features were already trained that far). */
  ran: number;
  elapsedMs: number;
  /** Mean losses over the last iterations. */
  losses?: { guidance: number; corr: number };
  views: number;
  /** Prepared views without masks, left out. */
  skippedViews: string[];
  /** Damaged checkpoints that were skipped when resuming, with why. */
  damagedCheckpoints: string[];
}

/** Longest layer name, in characters. */
export const MAX_LAYER_NAME = 120;

/** A layer as the layers panel shows it. */
export interface LayerInfo {
  id: number;
  name: string;
  /** '#rrggbb': the tint of its Gaussians in the viewport. */
  colour: string;
  visible: boolean;
  /** A locked layer can be shown, hidden, isolated and unlocked; other edits are refused (LAYER_LOCKED). */
  locked: boolean;
  /** Gaussians in it, deleted ones not counted. */
  count: number;
}

/** A step of the edit history. */
export interface HistoryStepInfo {
  id: number;
  /** What kind of edit: 'layer.new', 'layer.rename', 'layer.recolour', 'layer.show', 'layer.hide', 'layer.isolate', 'layer.lock', 'layer.unlock', 'layer.delete', 'layer.merge', 'selection.move', 'selection.delete'. */
  kind: string;
  /** What the history panel shows, e.g. 'Delete 1,204 Gaussians'. */
  label: string;
  createdAt: string;
  /** Gaussians whose state the step changes. */
  touched: number;
}

/** The open project's editing state: everything the layers panel, counts and undo buttons need. */
export interface EditState {
  /** Display-state version: 'edit.display' with { since: version } returns what changed after it. */
  version: number;
  /** Gaussians in the scene. */
  count: number;
  /** Gaussians drawn now (not deleted, not hidden, layer visible). */
  shown: number;
  selected: number;
  deleted: number;
  /** In panel order. */
  layers: LayerInfo[];
  /** Gaussians in no layer: shown and hidden as one (layer id 0 in requests). */
  unassigned: { count: number; visible: boolean };
  /** History position: steps before it are done; 'edit.undo' is possible when > 0, 'edit.redo' when < steps. */
  cursor: number;
  steps: number;
}

/** The answer to an edit, undo, redo, goto or selection request: the new state and the step it applied. */
export interface EditOutcome extends EditState {
  /** The step recorded, undone or redone (the last one for a goto). Absent when nothing changed. */
  step?: HistoryStepInfo;
  /** True when `step` was undone. */
  undone?: boolean;
}

/** Parameters of 'edit.export': what to write where. */
export interface ExportParams {
  /** Output file; its extension picks the format: .ply (INRIA 3DGS), .splat or .spz. */
  path: string;
  /** Only this layer's Gaussians (by id), whether the layer is shown or not. Default: the whole edited scene. */
  layer?: number;
  /** Also Gaussians that are hidden (deleted ones are never written). */
  includeHidden?: boolean;
  /** Add the trained SAGA features as float properties f_feat_0..f_feat_{dim-1} (.ply only). */
  features?: boolean;
  /** Replace an existing file (FILE_EXISTS otherwise). */
  overwrite?: boolean;
  /** Replace the project's own source scene: refused (FILE_EXISTS, details.source) without it. */
  replaceSource?: boolean;
}

/** Result event payload of 'edit.export'. */
export interface ExportSummary {
  path: string;
  format: 'ply' | 'splat' | 'spz';
  /** Gaussians written. */
  count: number;
  bytes: number;
  /** Feature channels written (0 without features). */
  featureDim: number;
  elapsedMs: number;
}

/** How a new selection combines with the current one. */
export type SelectionMode = 'replace' | 'add' | 'subtract' | 'intersect';

/** A point of a prompt: pixel column and row from the top-left of the view at the camera's size. */
export interface PromptPoint {
  x: number;
  y: number;
  /** 1: on the object to select; 0: on something to leave out. */
  label: 0 | 1;
}

/** A segmentation prompt as the segment request takes it (coordinates as PromptPoint). */
export type SegmentPrompt =
  /**
   * `sam`: SAGA's SAM-based prompt: SAM's decoder turns the clicks (or box) into a 2D mask, and
   * the projected SAM features under it give the queries. Needs views prepared with SAM and its
   * model installed (MASKS_MISSING or MODEL_NOT_FOUND otherwise).
   */
  | { kind: 'points'; points: PromptPoint[]; sam?: boolean }
  | { kind: 'scribble'; points: PromptPoint[] }
  /** [x0, y0, x1, y1), x0 < x1 and y0 < y1. */
  | { kind: 'box'; box: [number, number, number, number]; sam?: boolean }
  /** A 2D mask at any size (stretched over the view), non-zero = inside, row-major. */
  | { kind: 'mask'; width: number; height: number; data: Uint8Array };

/** The answer to 'segment.prompt': the editing state with the new selection. */
export interface SegmentOutcome extends EditState {
  /** The current selection after combining, as a bitset: Gaussian i is bit i & 7 of byte i >> 3. */
  bits: Uint8Array;
  /** Gaussians the prompt itself selected, before combining with the current selection. */
  prompted: number;
  /** Milliseconds per phase (sam for SAM prompts: embedding and decoder; queries, score, threshold, filter or region, grow, combine) and in all. */
  timings: Record<string, number>;
}

/**
 * Result of 'project.featureColors': each Gaussian's trained feature as a colour, for the Features
 * display mode. `colors` is 8-bit RGB, 3 bytes per Gaussian in PLY row order: the feature projected
 * on the first three principal axes of all features, each axis stretched over its 1st to 99th
 * percentile. It travels as a binary attachment, never as JSON numbers.
 */
export interface FeatureColors {
  /** The training iteration the features are from, and the run's target. */
  iteration: number;
  iterations: number;
  colors: Uint8Array;
}

/** Request methods: params and result per method. */
export interface ApiMethods {
  'app.info': { params: Record<string, never>; result: AppInfo };
  /** Read a scene file (no project) and make it available to the viewport. */
  'scene.open': { params: { path: string }; result: OpenedScene };
  /** Create a project folder from a scene file or a 3DGS training output folder, and open it. */
  'project.create': { params: { dir: string; source: string; images?: string }; result: { project: ProjectInfo; scene: OpenedScene } };
  'project.open': { params: { dir: string }; result: { project: ProjectInfo; scene: OpenedScene } };
  'project.close': { params: Record<string, never>; result: null };
  'project.recent': { params: Record<string, never>; result: RecentProject[] };
  /** Store settings of the open project (those given; the others keep their value). */
  'project.setSettings': { params: Partial<ProjectSettings>; result: ProjectSettings };
  /** What a path holds (see PathContent); a missing path is a 'scene' whose open then says so. */
  'path.inspect': { params: { path: string }; result: PathContent };
  /** Native dialogs in Electron; in browser mode the UI asks for a path instead (result null). */
  'dialog.openPath': { params: { kind: 'scene' | 'project' | 'folder' }; result: string | null };
  /** Stop a running job; its error event then carries code CANCELLED. A finished or unknown job is a no-op. */
  'job.cancel': { params: { jobId: string }; result: null };
  /** Hold a pausable job (training) between two steps; a progress event with `paused` says so. */
  'job.pause': { params: { jobId: string }; result: null };
  'job.resume': { params: { jobId: string }; result: null };
  /** Forget the open scene (and its blob); no-op when nothing is open. */
  'scene.close': { params: Record<string, never>; result: null };
  /**
   * Bytes behind a blob URL (the `<id>` of /blob/<id> or app://blob/<id>), sent as one binary frame,
   * never JSON. For hosts where the renderer cannot fetch the URL itself.
   */
  'blob.get': { params: { id: string }; result: Uint8Array };
  /** Job: re-hash the project's source scene and compare with the checksum stored at creation. */
  'project.verifySource': { params: Record<string, never>; result: JobStarted };
  /**
   * Job: masks and image features for every view of the open project (resumable: finished views
   * are skipped unless `force`). `masks`: 'auto' (built-in, no download), 'sam' (needs an installed
   * model: `model` or the first installed one) or the path of a folder of imported masks
   * (<folder>/<image-stem>/<k>.png). Progress events are PrepareJobProgress; the result event is a
   * PrepareSummary. One prepare per project at a time (a second call is refused with BUSY).
   */
  'project.prepare': { params: { masks: 'auto' | 'sam' | (string & {}); model?: string; force?: boolean }; result: JobStarted };
  /** How far the open project's views are prepared, and the running prepare job if any. */
  'project.prepared': { params: Record<string, never>; result: PrepareState };
  /**
   * Job (pausable): train the per-Gaussian features on the prepared views (SAGA's losses). Resumes
   * from the last checkpoint unless `restart`; `iterations` is the run's target (default 10,000, or
   * the previous run's). Progress events are TrainJobProgress, the result a TrainSummary. One
   * training per project, never together with a prepare job (BUSY).
   */
  'project.train': { params: { iterations?: number; seed?: number; ablate?: TrainAblation; restart?: boolean }; result: JobStarted };
  /** How far the open project's features are trained. */
  'project.training': { params: Record<string, never>; result: TrainingStatus };
  /**
   * Selects Gaussians from a prompt in a view (SAGA's segmentation on the trained features) and
   * combines them with the current selection (default: replace). The view is a training view by
   * name, or any camera (the viewport's). Needs trained features (NOT_TRAINED otherwise).
   */
  'segment.prompt': { params: { view?: string; camera?: Camera; prompt: SegmentPrompt; mode?: SelectionMode; post?: boolean }; result: SegmentOutcome };
  /**
   * The open project's trained features as per-Gaussian colours (see FeatureColors), from the
   * newest good checkpoint; FEATURES_MISSING before any training.
   */
  'project.featureColors': { params: Record<string, never>; result: FeatureColors };
  /** The SAM models of the registry and whether each is installed. */
  'models.list': { params: Record<string, never>; result: ModelInfo[] };
  /**
   * Job: download a registry model into the models folder (resumes a partial download, checks the
   * sha256). Progress stage 'download', done/total in bytes; the result event is the ModelInfo.
   */
  'models.install': { params: { id: string }; result: JobStarted };
  /** Layers with counts, selection and shown counts, history position of the open project. */
  'edit.state': { params: Record<string, never>; result: EditState };
  /**
   * The per-Gaussian display state as one binary frame (contract/display-state.ts): the changes
   * since version `since` when the backend still has them, else the whole state.
   */
  'edit.display': { params: { since?: number }; result: Uint8Array };
  /** The history steps, oldest first; steps before `cursor` are done. */
  'edit.history': { params: Record<string, never>; result: { steps: HistoryStepInfo[]; cursor: number } };
  /** Undo the last step (Ctrl+Z); with an empty history nothing happens (no `step` in the answer). */
  'edit.undo': { params: Record<string, never>; result: EditOutcome };
  /** Redo the next step (Ctrl+Shift+Z, Ctrl+Y); nothing happens at the end of the history. */
  'edit.redo': { params: Record<string, never>; result: EditOutcome };
  /** Jump to history position `position` (0: before every step; `steps`: after all). */
  'edit.goto': { params: { position: number }; result: EditOutcome };
  'edit.invertSelection': { params: Record<string, never>; result: EditOutcome };
  'edit.clearSelection': { params: Record<string, never>; result: EditOutcome };
  /** A new layer holding the selected Gaussians; name and colour default to 'Layer N' and a palette colour. */
  'edit.newLayer': { params: { name?: string; colour?: string }; result: EditOutcome };
  'edit.renameLayer': { params: { layer: number; name: string }; result: EditOutcome };
  'edit.recolourLayer': { params: { layer: number; colour: string }; result: EditOutcome };
  /** Show or hide a layer (layer 0: the unassigned Gaussians). */
  'edit.showLayer': { params: { layer: number; visible: boolean }; result: EditOutcome };
  /** Show only this layer (0: only the unassigned Gaussians). */
  'edit.isolateLayer': { params: { layer: number }; result: EditOutcome };
  'edit.lockLayer': { params: { layer: number; locked: boolean }; result: EditOutcome };
  /** Delete the layer's Gaussians and the layer. */
  'edit.deleteLayer': { params: { layer: number }; result: EditOutcome };
  /** Move the Gaussians of `layers` into layer `into`; the merged layers go. */
  'edit.mergeLayers': { params: { into: number; layers: number[] }; result: EditOutcome };
  /** Move the selected Gaussians to a layer (0: out of every layer). */
  'edit.moveSelection': { params: { layer: number }; result: EditOutcome };
  /** Delete the selected Gaussians (Delete key). */
  'edit.deleteSelected': { params: Record<string, never>; result: EditOutcome };
  /**
   * Job: save the edited scene ("Save edited scene": shown, not deleted Gaussians; PLY keeps every
   * source property of the kept rows bit for bit) or one layer ("Export layer"). Written under a
   * temporary name and renamed. Progress stage 'write'; the result event is an ExportSummary.
   */
  'edit.export': { params: ExportParams; result: JobStarted };
}

export type ApiMethod = keyof ApiMethods;
export type ApiParams<M extends ApiMethod> = ApiMethods[M]['params'];
export type ApiResult<M extends ApiMethod> = ApiMethods[M]['result'];

export interface JobProgress {
  stage: string;
  done: number;
  total: number;
  /** Seconds remaining, when it can be estimated. */
  etaSeconds?: number;
  /** Set on a pausable job's events: true while it is paused. */
  paused?: boolean;
}

export type JobEvent =
  | { jobId: string; kind: 'progress'; progress: JobProgress }
  | { jobId: string; kind: 'result'; result: unknown }
  | { jobId: string; kind: 'error'; error: SagaErrorData };

/**
 * Something the host tells every window without being asked. 'engine-restarted': the GPU engine
 * (training) died and a new one was started; the open project, its history and selection are
 * untouched, a job that used the old engine ended with ENGINE_CRASHED and can be started again.
 */
export type HostNotice =
  | { kind: 'engine-restarted'; message: string; reason: string }
  /** Electron main's own link to the backend process: rebuild the Open Recent menu. */
  | { kind: 'recent-changed' };

/** What a client can call: the typed surface preload exposes as window.saga. */
export interface SagaApi {
  call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResult<M>>;
  /** Subscribe to job events from every job of this host; returns the unsubscribe function. */
  onJobEvent(listener: (event: JobEvent) => void): () => void;
  /**
   * Called once when the connection to the host is lost (the server stopped, the network dropped):
   * no answer or job event will arrive after it. Returns the unsubscribe function.
   */
  onDisconnect(listener: (error: SagaErrorData) => void): () => void;
  /** Subscribe to the host's notices (HostNotice); returns the unsubscribe function. */
  onNotice(listener: (notice: HostNotice) => void): () => void;
}

/** Every method name, for hosts that check a request's method before dispatch (preload, validation). */
export const API_METHOD_NAMES = [
  'app.info',
  'scene.open',
  'scene.close',
  'project.create',
  'project.open',
  'project.close',
  'project.recent',
  'project.setSettings',
  'path.inspect',
  'project.verifySource',
  'project.prepare',
  'project.prepared',
  'project.train',
  'project.training',
  'segment.prompt',
  'project.featureColors',
  'models.list',
  'models.install',
  'dialog.openPath',
  'job.cancel',
  'job.pause',
  'job.resume',
  'blob.get',
  'edit.state',
  'edit.display',
  'edit.history',
  'edit.undo',
  'edit.redo',
  'edit.goto',
  'edit.invertSelection',
  'edit.clearSelection',
  'edit.newLayer',
  'edit.renameLayer',
  'edit.recolourLayer',
  'edit.showLayer',
  'edit.isolateLayer',
  'edit.lockLayer',
  'edit.deleteLayer',
  'edit.mergeLayers',
  'edit.moveSelection',
  'edit.deleteSelected',
  'edit.export',
] as const satisfies readonly ApiMethod[];

// Compile-time check that the list above names every method exactly.
type MissingMethods = Exclude<ApiMethod, (typeof API_METHOD_NAMES)[number]>;
const allMethodsListed: MissingMethods extends never ? true : MissingMethods = true;
void allMethodsListed;
