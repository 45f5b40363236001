/**
 * The prepare job through the API: a real project made from guitar views rendered with the CPU
 * reference rasterizer, the real backend over the in-memory transport, the real worker thread.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENES, sharedScene } from '../../e2e/fixtures.ts';
import type { ApiMethods, JobEvent, PrepareJobProgress, PrepareSummary } from '../contract/api.ts';
import { RpcClient, type RpcServer } from '../contract/rpc.ts';
import { memoryTransportPair } from '../contract/transports/memory.ts';
import { encodeRgbPng } from '../engine/masks/image.ts';
import { imageStem } from '../engine/masks/imported.ts';
import { tinySamDecoder, tinySamEncoder } from '../engine/masks/testing/tiny-sam.ts';
import { readManifest, viewDir, viewKey } from '../engine/masks/storage.ts';
import { renderViewImages } from '../engine/masks/testing/views.ts';
import { sha256File } from '../project/checksum.ts';
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

function makeProject(name: string, views = VIEWS): string {
  const dir = join(root, name);
  createProject(dir, { source: { ...source, views: source.views.slice(0, views) } }).close();
  return dir;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'saga-prepare-job-'));
  const scenePath = sharedScene(SCENES.guitar);
  const cameras = await renderViewImages(scenePath, join(root, 'images'), VIEWS, WIDTH, HEIGHT);
  source = {
    scenePath,
    format: 'compressed-ply',
    count: 90854,
    shDegree: 0,
    bytes: statSync(scenePath).size,
    checksum: await sha256File(scenePath),
    bounds: { min: [-1, -1, -1], max: [1, 1, 1] },
    properties: [],
    views: cameras,
  };
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
    const own = new SagaBackend({ host: 'memory', userDataDir: join(root, 'user-data-2'), modelsDir: join(root, 'models'), blobUrl: (id) => `memory://blob/${id}` });
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
    const until = async (find: () => JobEvent | undefined) => {
      for (let e = find(); ; e = find()) {
        if (e) return e;
        await new Promise<void>((r) => (wake = r));
      }
    };
    await ownClient.call('project.open', { dir: makeProject('shutdown') });
    const { jobId } = await ownClient.call('project.prepare', { masks: 'auto' });
    await until(() => ownEvents.find((e) => e.jobId === jobId && e.kind === 'progress'));
    own.close();
    const end = await until(() => ownEvents.find((e) => e.jobId === jobId && e.kind !== 'progress'));
    expect(end).toMatchObject({ kind: 'error', error: { code: 'CANCELLED' } });
    ownServer.close();
  }, 60_000);
});
