import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENES, sharedScene } from '../../e2e/fixtures.ts';
import type { ApiMethods, JobEvent } from '../contract/api.ts';
import { RpcClient } from '../contract/rpc.ts';
import { memoryTransportPair } from '../contract/transports/memory.ts';
import { readSceneBytes } from '../scene/io.ts';
import { lookAtCamera } from '../scene/camera.ts';
import { writeInriaCameras } from '../scene/cameras/index.ts';
import { SagaBackend, createBackendServer } from './backend.ts';

const root = mkdtempSync(join(tmpdir(), 'saga-backend-'));
let client: RpcClient<ApiMethods>;
let backend: SagaBackend;

beforeAll(() => {
  backend = new SagaBackend({ host: 'memory', userDataDir: join(root, 'user-data'), blobUrl: (id) => `memory://blob/${id}` });
  const server = createBackendServer(backend);
  const [c, s] = memoryTransportPair();
  server.attach(s);
  client = new RpcClient<ApiMethods>(c);
});
afterAll(() => {
  backend.closeAll();
  rmSync(root, { recursive: true, force: true });
});

function blobId(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}

describe('backend over the in-memory transport', () => {
  it('reports the host', async () => {
    expect(await client.call('app.info', {})).toMatchObject({ version: '0.1.0', host: 'memory' });
  });

  it('refuses project requests with NO_PROJECT while no project is open', async () => {
    for (const call of [() => client.call('project.verifySource', {}), () => client.call('project.prepare', { masks: 'auto' }), () => client.call('project.prepared', {})]) {
      await expect(call()).rejects.toMatchObject({ code: 'NO_PROJECT', message: expect.stringMatching(/No project is open/) });
    }
  });

  it('opens the guitar and serves viewer bytes whose row i is the scene row i', async () => {
    const opened = await client.call('scene.open', { path: sharedScene(SCENES.guitar) });
    expect(opened.summary.count).toBe(90854);
    expect(opened.summary.format).toBe('compressed-ply');
    expect(opened.urlFormat).toBe('ply');
    const bytes = await client.call('blob.get', { id: blobId(opened.url) });
    expect(new TextDecoder().decode(bytes.subarray(0, 200))).toContain('element vertex 90854');
    // Decoded back, the viewer file holds the same Gaussians in the same order.
    const viewer = readSceneBytes(bytes, 'ply');
    const scene = backend.openScene!;
    expect(viewer.count).toBe(scene.count);
    for (const i of [0, 1, 4567, 90853]) {
      expect(viewer.positions[i * 3]).toBe(scene.positions[i * 3]);
      expect(viewer.sh0[i * 3 + 2]).toBe(scene.sh0[i * 3 + 2]);
      expect(viewer.opacities[i]).toBe(scene.opacities[i]);
    }
    expect(viewer.shDegree).toBe(0);
  });

  it('keeps the open scene when a truncated file fails to open', async () => {
    const opened = await client.call('scene.open', { path: sharedScene(SCENES.inria) });
    const truncated = join(root, 'truncated.ply');
    const full = readFileSync(sharedScene(SCENES.inria));
    writeFileSync(truncated, full.subarray(0, 100_000));
    await expect(client.call('scene.open', { path: truncated })).rejects.toMatchObject({ code: 'TRUNCATED' });
    expect((await client.call('blob.get', { id: blobId(opened.url) })).length).toBeGreaterThan(9080 * 14 * 4);
    await expect(client.call('scene.open', { path: '' })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    await expect(client.call('scene.open', { path: join(root, 'absent.ply') })).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });

  it('creates a project, closes it, reopens it, lists it as recent, and verifies its source as a job', async () => {
    const dir = join(root, 'guitar-project');
    const created = await client.call('project.create', { dir, source: sharedScene(SCENES.guitar) });
    expect(created.project.scene.count).toBe(90854);
    expect(created.scene.summary.count).toBe(90854);
    await client.call('project.close', {});
    await expect(client.call('blob.get', { id: blobId(created.scene.url) })).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });

    const reopened = await client.call('project.open', { dir });
    expect(reopened.project).toEqual(created.project);
    expect(reopened.scene.url).not.toBe(created.scene.url);
    expect((await client.call('project.recent', {}))[0]).toMatchObject({ dir, name: 'guitar-project' });
    // A project deleted since is not offered.
    const gone = join(root, 'gone-project');
    await client.call('project.create', { dir: gone, source: sharedScene(SCENES.inria) });
    await client.call('project.close', {});
    rmSync(gone, { recursive: true });
    expect((await client.call('project.recent', {})).map((r) => r.dir)).toEqual([dir]);
    await client.call('project.open', { dir });

    const events: JobEvent[] = [];
    const done = new Promise<void>((resolve) => client.onJobEvent((e) => {
      events.push(e);
      if (e.kind !== 'progress') resolve();
    }));
    const { jobId } = await client.call('project.verifySource', {});
    await done;
    const last = events.at(-1)!;
    expect(last).toMatchObject({ jobId, kind: 'result', result: { ok: true, expected: created.project.scene.checksum } });
    expect(events.some((e) => e.kind === 'progress' && e.progress.stage === 'checksum')).toBe(true);

    await expect(client.call('project.create', { dir, source: sharedScene(SCENES.guitar) })).rejects.toMatchObject({ code: 'PROJECT_EXISTS' });
    await expect(client.call('project.open', { dir: join(root, 'nothing-here') })).rejects.toMatchObject({ code: 'PROJECT_NOT_FOUND' });
  });

  it('answers the dialog request with null where there is no native dialog', async () => {
    expect(await client.call('dialog.openPath', { kind: 'scene' })).toBeNull();
  });
});

describe('opening a folder as a scene', () => {
  it('opens the latest point cloud of a training output folder, even without cameras', async () => {
    const out = join(root, 'training-output');
    for (const it of [3000, 7000]) mkdirSync(join(out, 'point_cloud', `iteration_${it}`), { recursive: true });
    copyFileSync(sharedScene(SCENES.inria), join(out, 'point_cloud', 'iteration_7000', 'point_cloud.ply'));
    writeFileSync(join(out, 'point_cloud', 'iteration_3000', 'point_cloud.ply'), 'not the latest');
    const opened = await client.call('scene.open', { path: out });
    expect(opened.summary.path).toBe(join(out, 'point_cloud', 'iteration_7000', 'point_cloud.ply'));
    expect(opened.summary.count).toBe(9080);
  });

  it('opens the one scene file of a plain folder and explains folders with none or several', async () => {
    const plain = join(root, 'plain');
    mkdirSync(plain);
    await expect(client.call('scene.open', { path: plain })).rejects.toMatchObject({ code: 'UNSUPPORTED_FORMAT' });
    copyFileSync(sharedScene(SCENES.antimatter), join(plain, 'upload.splat'));
    const opened = await client.call('scene.open', { path: plain });
    expect(opened.summary).toMatchObject({ format: 'splat', count: 22764 });
    copyFileSync(sharedScene(SCENES.inria), join(plain, 'other.ply'));
    await expect(client.call('scene.open', { path: plain })).rejects.toThrow(/2 scene files|scene files/);
  });

  it('tells a project folder from a scene', async () => {
    const dir = join(root, 'a-project');
    await client.call('project.create', { dir, source: sharedScene(SCENES.inria) });
    await expect(client.call('scene.open', { path: dir })).rejects.toThrow(/project folder/);
  });

  it('says what a path holds, so Open Scene can offer the project a training output wants', async () => {
    const capture = join(root, 'inspect-capture');
    mkdirSync(capture);
    copyFileSync(sharedScene(SCENES.inria), join(capture, 'scene.ply'));
    const cams = [0, 1, 2].map((k) => lookAtCamera(`v${k}`, [4 * Math.cos(k), 0, 4 * Math.sin(k)], [0, 0, 0], [0, -1, 0], 64, 48, 1));
    await writeInriaCameras(cams, join(capture, 'cameras.json'));

    expect(await client.call('path.inspect', { path: sharedScene(SCENES.guitar) })).toEqual({ kind: 'scene', path: sharedScene(SCENES.guitar) });
    expect(await client.call('path.inspect', { path: join(root, 'absent.ply') })).toMatchObject({ kind: 'scene' });
    // The folder, and the scene file inside it, both hold a training output with 3 views.
    for (const path of [capture, join(capture, 'scene.ply')]) {
      expect(await client.call('path.inspect', { path })).toEqual({ kind: 'training-output', dir: capture, scenePath: join(capture, 'scene.ply'), views: 3, projects: [] });
    }
    // Once a project is made from it, the project is offered too.
    const dir = join(root, 'inspect-project');
    await client.call('project.create', { dir, source: capture });
    expect(await client.call('path.inspect', { path: capture })).toMatchObject({ kind: 'training-output', projects: [{ dir, name: 'inspect-project' }] });
    expect(await client.call('path.inspect', { path: dir })).toEqual({ kind: 'project', dir });
  });

  it('keeps the open project settings in the project, and refuses them with no project open', async () => {
    const dir = join(root, 'settings-project');
    const created = await client.call('project.create', { dir, source: sharedScene(SCENES.inria) });
    expect(created.project.settings).toEqual({ upFlipped: false });
    expect(await client.call('project.setSettings', { upFlipped: true })).toEqual({ upFlipped: true });
    await client.call('project.close', {});
    await expect(client.call('project.setSettings', { upFlipped: false })).rejects.toMatchObject({ code: 'NO_PROJECT' });
    expect((await client.call('project.open', { dir })).project.settings).toEqual({ upFlipped: true });
  });

  it('points a project without views to render-views, which makes some', async () => {
    await client.call('project.create', { dir: join(root, 'no-views'), source: sharedScene(SCENES.inria) });
    await expect(client.call('project.prepare', { masks: 'auto' })).rejects.toMatchObject({ code: 'BAD_CAMERAS', message: expect.stringContaining('saga-studio render-views') });
  });

  it('creates and opens a project even when the recent-projects list cannot be written', async () => {
    // The user-data "folder" is a file, so the recents list cannot be saved there.
    const blocked = join(root, 'user-data-is-a-file');
    writeFileSync(blocked, 'not a folder');
    const lonely = new SagaBackend({ host: 'memory', userDataDir: blocked, blobUrl: (id) => `memory://blob/${id}` });
    const [c, srv] = memoryTransportPair();
    createBackendServer(lonely).attach(srv);
    const other = new RpcClient<ApiMethods>(c);
    try {
      const dir = join(root, 'project-without-recents');
      const created = await other.call('project.create', { dir, source: sharedScene(SCENES.inria) });
      expect(created.project.scene.count).toBe(9080);
      expect((await other.call('project.open', { dir })).project.dir).toBe(created.project.dir);
    } finally {
      lonely.closeAll();
    }
  });
});
