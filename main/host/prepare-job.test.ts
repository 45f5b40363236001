/**
 * The prepare job through the API: a real project made from guitar views rendered with the CPU
 * reference rasterizer, the real backend over the in-memory transport, the real worker thread.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENES, sharedScene } from '../../e2e/fixtures.ts';
import type { ApiMethods, JobEvent, PrepareJobProgress, PrepareSummary } from '../contract/api.ts';
import { RpcClient, type RpcServer } from '../contract/rpc.ts';
import { memoryTransportPair } from '../contract/transports/memory.ts';
import { encodeRgbPng } from '../engine/masks/image.ts';
import { imageStem } from '../engine/masks/imported.ts';
import { defaultModelsDir, loadRegistry, type RegistryModel } from '../engine/masks/models.ts';
import { tinySamDecoder, tinySamEncoder } from '../engine/masks/testing/tiny-sam.ts';
import { readManifest, viewDir, viewKey } from '../engine/masks/storage.ts';
import { projectSourceFor, renderViewImages } from '../engine/masks/testing/views.ts';
import { createProject, type ProjectSource } from '../project/store.ts';
import { SagaBackend, createBackendServer } from './backend.ts';

const VIEWS = 4;
// Big enough that one view takes far longer than a cancel takes to reach the worker.
const WIDTH = 320;
const HEIGHT = 240;

let root: string;
let source: ProjectSource;
let backend: SagaBackend;
let server: RpcServer<ApiMethods>;
let client: RpcClient<ApiMethods>;
const events: JobEvent[] = [];
const waiters: (() => void)[] = [];

/** Resolves with the first value `find` gives, checked now and after every job event. */
function waitFor<T>(find: () => T | undefined): Promise<T> {
  return new Promise((resolve) => {
    const check = () => {
      const found = find();
      if (found === undefined) waiters.push(check);
      else resolve(found);
    };
    check();
  });
}

/** Resolves with the job's last event (result or error); every event stays in `events`. */
function jobEnd(jobId: string): Promise<JobEvent> {
  return waitFor(() => events.find((e) => e.jobId === jobId && e.kind !== 'progress'));
}

function progressOf(jobId: string): PrepareJobProgress[] {
  return events.flatMap((e) => (e.jobId === jobId && e.kind === 'progress' ? [e.progress as PrepareJobProgress] : []));
}

/** A second backend on its own transport (own user data; models from `registry` when given). */
function ownBackend(name: string, registry?: RegistryModel[]) {
  const own = new SagaBackend({ host: 'memory', userDataDir: join(root, `user-data-${name}`), modelsDir: join(root, `models-${name}`), blobUrl: (id) => `memory://blob/${id}`, ...(registry ? { modelRegistry: registry } : {}) });
  const ownServer = createBackendServer(own);
  const [c, s] = memoryTransportPair();
  ownServer.attach(s);
  const ownClient = new RpcClient<ApiMethods>(c);
  const ownEvents: JobEvent[] = [];
  let wake = () => {};
  ownClient.onJobEvent((e) => {
    ownEvents.push(e);
    wake();
  });
  const until = async (find: () => JobEvent | undefined): Promise<JobEvent> => {
    for (let e = find(); ; e = find()) {
      if (e) return e;
      await new Promise<void>((r) => (wake = r));
    }
  };
  return { backend: own, server: ownServer, client: ownClient, events: ownEvents, until };
}

function makeProject(name: string, views = VIEWS): string {
  const dir = join(root, name);
  createProject(dir, { source: { ...source, views: source.views.slice(0, views) } }).close();
  return dir;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'saga-prepare-job-'));
  const scenePath = sharedScene(SCENES.guitar);
  const cameras = await renderViewImages(scenePath, join(root, 'images'), VIEWS, WIDTH, HEIGHT);
  source = await projectSourceFor(scenePath, cameras);
  backend = new SagaBackend({ host: 'memory', userDataDir: join(root, 'user-data'), modelsDir: join(root, 'models'), blobUrl: (id) => `memory://blob/${id}` });
  server = createBackendServer(backend);
  const [c, s] = memoryTransportPair();
  server.attach(s);
  client = new RpcClient<ApiMethods>(c);
  client.onJobEvent((e) => {
    events.push(e);
    for (const w of waiters.splice(0)) w();
  });
}, 60_000);

afterAll(() => {
  backend?.close();
  server?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('project.prepare as a job', () => {
  it('is refused with NO_PROJECT when no project is open, as is project.prepared', async () => {
    await expect(client.call('project.prepare', { masks: 'auto' })).rejects.toMatchObject({ code: 'NO_PROJECT', message: expect.stringMatching(/Open or create a project first/) });
    await expect(client.call('project.prepared', {})).rejects.toMatchObject({ code: 'NO_PROJECT' });
    await expect(client.call('project.prepare', { masks: 'auto', force: 'yes' } as unknown as ApiMethods['project.prepare']['params'])).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });

  it('lists the registry models, none installed in a fresh models folder', async () => {
    const models = await client.call('models.list', {});
    expect(models.length).toBeGreaterThan(3);
    expect(models.every((m) => !m.installed)).toBe(true);
    const recommended = models.find((m) => m.id === 'sam_vit_b_quantized');
    expect(recommended).toMatchObject({ supported: true, installed: false });
    expect(models.some((m) => typeof m.size === 'number' && m.size > 1e6)).toBe(true);
  });

  it('prepares every view with the built-in masks: progress events, then a summary recommending SAM', async () => {
    const dir = makeProject('first');
    await client.call('project.open', { dir });
    expect(await client.call('project.prepared', {})).toEqual({ views: VIEWS, prepared: 0 });

    // Choices that cannot work are refused before any job starts.
    await expect(client.call('project.prepare', { masks: 'sam' })).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND', message: expect.stringMatching(/No SAM model is installed/) });
    await expect(client.call('project.prepare', { masks: 'auto', model: 'sam_vit_b_quantized' })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    await expect(client.call('project.prepare', { masks: join(root, 'no-such-masks') })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/not a folder/) });
    // A folder that exists but cannot be read is not called "not a folder": the cause is named.
    // (Tests run as root, which no permission stops; a symbolic link loop fails stat the same way.)
    const loop = join(root, 'masks-loop');
    symlinkSync(loop, loop);
    await expect(client.call('project.prepare', { masks: loop })).rejects.toMatchObject({ code: 'FILE_UNREADABLE', message: expect.stringMatching(/masks-loop cannot be read \(ELOOP/) });

    const { jobId } = await client.call('project.prepare', { masks: 'auto' });
    const end = await jobEnd(jobId);
    expect(end.kind).toBe('result');
    const summary = (end as { result: PrepareSummary }).result;
    expect(summary).toMatchObject({ source: 'auto', done: VIEWS, skipped: 0, failed: 0 });
    expect(summary.recommendation).toMatch(/install a SAM model/);
    expect(summary.views.map((v) => v.status)).toEqual(Array(VIEWS).fill('done'));
    for (const v of summary.views) expect(v.levels).toBeGreaterThanOrEqual(3);

    const progress = progressOf(jobId);
    expect(progress[0]).toMatchObject({ stage: 'prepare', done: 0, total: VIEWS, event: 'start' });
    expect(progress.at(-1)).toMatchObject({ stage: 'prepare', done: VIEWS, total: VIEWS });
    expect(progress.some((p) => p.event === 'view-done' && typeof p.view === 'string' && p.etaSeconds !== undefined)).toBe(true);
    const dones = progress.map((p) => p.done);
    expect(dones).toEqual([...dones].sort((a, b) => a - b));

    const state = await client.call('project.prepared', {});
    expect(state).toMatchObject({ views: VIEWS, prepared: VIEWS, maskSource: 'auto' });
    expect(state.recommendation).toMatch(/SAM/);
    expect(state.runningJobId).toBeUndefined();
  }, 60_000);

  it('cancels a run mid-way with a CANCELLED error event, keeps the project usable, and a later run resumes', async () => {
    const dir = makeProject('cancelled');
    await client.call('project.open', { dir });
    const { jobId } = await client.call('project.prepare', { masks: 'auto' });

    // While it runs: the state names the job, and a second prepare of the same project is refused.
    expect((await client.call('project.prepared', {})).runningJobId).toBe(jobId);
    await expect(client.call('project.prepare', { masks: 'auto' })).rejects.toMatchObject({ code: 'BUSY', details: { jobId } });

    // Cancel as soon as the first view is finished.
    await waitFor(() => progressOf(jobId).find((p) => p.done >= 1));
    await client.call('job.cancel', { jobId });
    const end = await jobEnd(jobId);
    expect(end).toMatchObject({ kind: 'error', error: { code: 'CANCELLED' } });

    // The project is intact: it reopens, finished views are kept, the rest are not.
    const reopened = await client.call('project.open', { dir });
    expect(reopened.project.views).toHaveLength(VIEWS);
    const state = await client.call('project.prepared', {});
    expect(state.runningJobId).toBeUndefined();
    expect(state.prepared).toBeGreaterThanOrEqual(1);
    expect(state.prepared).toBeLessThan(VIEWS);
    const kept = state.prepared;

    const again = await client.call('project.prepare', { masks: 'auto' });
    const resumed = await jobEnd(again.jobId);
    expect(resumed.kind).toBe('result');
    const summary = (resumed as { result: PrepareSummary }).result;
    expect(summary).toMatchObject({ skipped: kept, done: VIEWS - kept, failed: 0 });
    expect(summary.views.slice(0, kept).every((v) => v.status === 'skipped')).toBe(true);
    expect(await client.call('project.prepared', {})).toMatchObject({ views: VIEWS, prepared: VIEWS, maskSource: 'auto' });
    for (const v of reopened.project.views) expect(readManifest(viewDir(join(dir, 'cache'), viewKey(v.id, v.name)))?.source).toBe('auto');
  }, 60_000);

  it('prepares from an imported masks folder, reporting views without masks as per-view errors', async () => {
    const dir = makeProject('imported');
    const opened = await client.call('project.open', { dir });
    // Masks for the first view only (its left half inside); the other views fail alone.
    const folder = join(root, 'imported-masks');
    const first = opened.project.views[0]!;
    mkdirSync(join(folder, imageStem(first.imagePath!)), { recursive: true });
    const data = new Uint8Array(WIDTH * HEIGHT * 3);
    for (let y = 0; y < HEIGHT; y++) data.fill(255, y * WIDTH * 3, (y * WIDTH + WIDTH / 2) * 3);
    writeFileSync(join(folder, imageStem(first.imagePath!), '0.png'), encodeRgbPng({ width: WIDTH, height: HEIGHT, data }));

    const { jobId } = await client.call('project.prepare', { masks: folder });
    const end = await jobEnd(jobId);
    expect(end.kind).toBe('result');
    const summary = (end as { result: PrepareSummary }).result;
    expect(summary).toMatchObject({ source: 'imported', sourceDetail: folder, done: 1, failed: VIEWS - 1 });
    expect(summary.recommendation).toBeUndefined();
    expect(summary.views.map((v) => v.name)).toEqual(opened.project.views.map((v) => v.name));
    expect(summary.views[0]).toMatchObject({ status: 'done', masks: 1 });
    for (const v of summary.views.slice(1)) expect(v).toMatchObject({ status: 'failed', error: { code: 'MASKS_MISSING', message: expect.stringContaining(imageStem(opened.project.views[v.id - 1]?.imagePath ?? '')) } });
    // Per-view failures also come as progress events (the runner may thin them; the last always arrives).
    expect(progressOf(jobId).at(-1)).toMatchObject({ event: 'view-failed', done: VIEWS, error: { code: 'MASKS_MISSING' } });
    expect(await client.call('project.prepared', {})).toEqual({ views: VIEWS, prepared: 1, maskSource: 'imported' });
  }, 60_000);

  it('starts SAM masks with a model folder (a tiny ONNX encoder and decoder built here) and cancels it before the view is finished', async () => {
    const modelDir = join(root, 'tiny-sam');
    mkdirSync(modelDir, { recursive: true });
    const dir = makeProject('sam', 1);
    await client.call('project.open', { dir });
    await expect(client.call('project.prepare', { masks: 'sam', model: modelDir })).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND', message: expect.stringMatching(/encoder.*decoder/) });
    writeFileSync(join(modelDir, 'tiny.encoder.onnx'), tinySamEncoder());
    writeFileSync(join(modelDir, 'tiny.decoder.onnx'), tinySamDecoder());
    // SAM's 32 x 32 point grid takes about a minute per view even with this tiny model on this
    // machine, so the run is stopped after it started (the pause lets the worker load the model and
    // get into decoding): cancellation must reach the decoding loop, not wait for the view's end.
    const { jobId } = await client.call('project.prepare', { masks: 'sam', model: modelDir });
    await waitFor(() => progressOf(jobId).find((p) => p.event === 'start'));
    await new Promise((r) => setTimeout(r, 1500));
    const t0 = performance.now();
    await client.call('job.cancel', { jobId });
    const end = await jobEnd(jobId);
    expect(end).toMatchObject({ kind: 'error', error: { code: 'CANCELLED' } });
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(await client.call('project.prepared', {})).toEqual({ views: 1, prepared: 0 });
  }, 60_000);

  it('stops a running prepare when the backend shuts down', async () => {
    const own = ownBackend('shutdown');
    await own.client.call('project.open', { dir: makeProject('shutdown') });
    const { jobId } = await own.client.call('project.prepare', { masks: 'auto' });
    await own.until(() => own.events.find((e) => e.jobId === jobId && e.kind === 'progress'));
    own.backend.close();
    const end = await own.until(() => own.events.find((e) => e.jobId === jobId && e.kind !== 'progress'));
    expect(end).toMatchObject({ kind: 'error', error: { code: 'CANCELLED' } });
    own.server.close();
  }, 60_000);
});

describe('models.install as a job', () => {
  let http: Server;
  let base = '';
  const served = new Map<string, Uint8Array>();

  beforeAll(async () => {
    served.set('/tiny.encoder.onnx', tinySamEncoder());
    served.set('/tiny.decoder.onnx', tinySamDecoder());
    http = createServer((req, res) => {
      const body = served.get(req.url ?? '');
      if (!body) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-length': String(body.length) }).end(body);
    });
    await new Promise<void>((ok) => http.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((ok) => http.close(() => ok()));
  });

  function registryModel(id: string, sha256For: (bytes: Uint8Array) => string): RegistryModel {
    const file = (name: string) => {
      const bytes = served.get(`/${name}`)!;
      return { file: name, url: `${base}/${name}`, sizeBytes: bytes.length, sha256: sha256For(bytes) };
    };
    return { id, name: `Tiny SAM (${id})`, family: 'test', supported: true, encoder: file('tiny.encoder.onnx'), decoder: file('tiny.decoder.onnx'), input: null, decoderSignature: 'sam' };
  }

  it('downloads a registry model with progress, lists it as installed, and SAM prepare then finds it; a bad checksum fails the job', async () => {
    const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    const own = ownBackend('install', [registryModel('tiny_sam', sha), registryModel('tiny_damaged', () => '0'.repeat(64))]);
    await own.client.call('project.open', { dir: makeProject('install', 1) });
    await expect(own.client.call('project.prepare', { masks: 'sam' })).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    await expect(own.client.call('models.install', { id: 'no_such_model' })).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });

    const { jobId } = await own.client.call('models.install', { id: 'tiny_sam' });
    const end = await own.until(() => own.events.find((e) => e.jobId === jobId && e.kind !== 'progress'));
    expect(end).toMatchObject({ kind: 'result', result: { id: 'tiny_sam', installed: true, supported: true } });
    const total = served.get('/tiny.encoder.onnx')!.length + served.get('/tiny.decoder.onnx')!.length;
    const progress = own.events.flatMap((e) => (e.jobId === jobId && e.kind === 'progress' ? [e.progress] : []));
    expect(progress.at(-1)).toMatchObject({ stage: 'download', done: total, total });
    expect((await own.client.call('models.list', {})).map((m) => [m.id, m.installed])).toEqual([['tiny_sam', true], ['tiny_damaged', false]]);

    // Without a model choice, SAM prepare uses the installed model (stopped at once: SAM is slow here).
    const prepare = await own.client.call('project.prepare', { masks: 'sam' });
    await own.client.call('job.cancel', { jobId: prepare.jobId });
    expect(await own.until(() => own.events.find((e) => e.jobId === prepare.jobId && e.kind !== 'progress'))).toMatchObject({ kind: 'error', error: { code: 'CANCELLED' } });

    const damaged = await own.client.call('models.install', { id: 'tiny_damaged' });
    const failed = await own.until(() => own.events.find((e) => e.jobId === damaged.jobId && e.kind !== 'progress'));
    expect(failed).toMatchObject({ kind: 'error', error: { code: 'MODEL_INVALID' } });
    expect((await own.client.call('models.list', {})).find((m) => m.id === 'tiny_damaged')?.installed).toBe(false);
    own.backend.close();
    own.server.close();
  }, 60_000);

});

describe('the models folder', () => {
  it('is the one the CLI uses, whatever user-data folder the host has (Electron passes its own)', async () => {
    const env = { ...process.env };
    const home = mkdtempSync(join(tmpdir(), 'saga-models-home-'));
    try {
      delete process.env.SAGA_MODELS_DIR;
      process.env.XDG_DATA_HOME = home;
      const app = new SagaBackend({ host: 'electron', userDataDir: join(home, 'electron-user-data'), blobUrl: (id) => `app://blob/${id}` });
      expect(app.modelsDir).toBe(defaultModelsDir());
      expect(app.modelsDir).toBe(join(home, 'saga-studio', 'models'));
      // A model the CLI installed there is installed for the app.
      const registry = loadRegistry();
      const model = registry.find((m) => !m.archive)!;
      mkdirSync(join(app.modelsDir, model.id), { recursive: true });
      writeFileSync(join(app.modelsDir, model.id, model.encoder.file), 'x');
      writeFileSync(join(app.modelsDir, model.id, model.decoder.file), 'x');
      const server = createBackendServer(app);
      const [c, s] = memoryTransportPair();
      server.attach(s);
      const listed = await new RpcClient<ApiMethods>(c).call('models.list', {});
      expect(listed.find((m) => m.id === model.id)?.installed).toBe(true);
      app.closeAll();
      process.env.SAGA_MODELS_DIR = join(home, 'elsewhere');
      expect(new SagaBackend({ host: 'memory', userDataDir: home, blobUrl: (id) => id }).modelsDir).toBe(join(home, 'elsewhere'));
    } finally {
      process.env.SAGA_MODELS_DIR = env.SAGA_MODELS_DIR;
      if (env.SAGA_MODELS_DIR === undefined) delete process.env.SAGA_MODELS_DIR;
      process.env.XDG_DATA_HOME = env.XDG_DATA_HOME;
      if (env.XDG_DATA_HOME === undefined) delete process.env.XDG_DATA_HOME;
      rmSync(home, { recursive: true, force: true });
    }
  });
});

