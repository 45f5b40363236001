/**
 * The one API the UI uses, in every host (Electron MessagePort, browser-mode WebSocket, in-memory).
 * Requests map a method name to typed params and result; long work is a job: the request returns a
 * job id at once and progress/result/error arrive as JobEvents. Large data (scene bytes) never rides
 * in JSON: results carry a URL the renderer fetches (browser: /blob/<id>?token=...; Electron: app://blob/<id>).
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

export interface ProjectInfo {
  dir: string;
  name: string;
  createdAt: string;
  scene: SceneSummary & { checksum: string };
  views: ViewInfo[];
}

export interface RecentProject {
  dir: string;
  name: string;
  openedAt: string;
}

/** Request methods: params and result per method. */
export interface ApiMethods {
  'app.info': { params: Record<string, never>; result: { version: string; host: 'electron' | 'browser' | 'memory' } };
  /** Read a scene file (no project) and make it available to the viewport. */
  'scene.open': { params: { path: string }; result: OpenedScene };
  /** Create a project folder from a scene file or a 3DGS training output folder, and open it. */
  'project.create': { params: { dir: string; source: string; images?: string }; result: { project: ProjectInfo; scene: OpenedScene } };
  'project.open': { params: { dir: string }; result: { project: ProjectInfo; scene: OpenedScene } };
  'project.close': { params: Record<string, never>; result: null };
  'project.recent': { params: Record<string, never>; result: RecentProject[] };
  /** Native dialogs in Electron; in browser mode the UI asks for a path instead (result null). */
  'dialog.openPath': { params: { kind: 'scene' | 'project' | 'folder' }; result: string | null };
  'job.cancel': { params: { jobId: string }; result: null };
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
}

export type JobEvent =
  | { jobId: string; kind: 'progress'; progress: JobProgress }
  | { jobId: string; kind: 'result'; result: unknown }
  | { jobId: string; kind: 'error'; error: SagaErrorData };

/** What a client can call: the typed surface preload exposes as window.saga. */
export interface SagaApi {
  call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResult<M>>;
  onJobEvent(listener: (event: JobEvent) => void): () => void;
}
