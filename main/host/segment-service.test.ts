/**
 * segment.prompt through the real backend and RPC on a trained synthetic project: a click selects
 * its object (3D IoU against the ground truth), the selection comes back as a bitset in a binary
 * frame with each phase's time, it combines with the current selection, and bad prompts get typed
 * errors. The CLI's segment command writes selection.json and the selected Gaussians.
 */
import { unpackMask } from '../engine/masks/storage.ts';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiMethods } from '../contract/api.ts';
import type { RpcClient } from '../contract/rpc.ts';
import { readPrompts } from '../engine/eval/folder.ts';
import type { EvalPrompt } from '../engine/eval/types.ts';
import { gaussianIoU } from '../engine/eval/metrics.ts';
import { openProject } from '../project/store.ts';
import { readScene } from '../scene/io.ts';
import type { SagaBackend } from './backend.ts';
import { main } from './cli.ts';
import { EngineClient } from './engine-client.ts';
import { synthProject, type SynthProject } from './testing/synth-project.ts';
import { runProjectTraining } from './training-run.ts';
import { memoryBackend } from './testing/memory-backend.ts';
import { whenViewsRecorded } from './testing/views-recorded.ts';

let root: string;
let synth: SynthProject;
let prompts: EvalPrompt[];
let backend: SagaBackend;
let client: RpcClient<ApiMethods>;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'saga-segment-'));
  synth = await synthProject(root);
  prompts = await readPrompts(join(synth.synthDir, 'prompts.json'));
  ({ backend, client } = memoryBackend(join(root, 'user')));
  await client.call('project.open', { dir: synth.projectDir });
  await expect(client.call('segment.prompt', { view: prompts[0]!.view, prompt: { kind: 'points', points: prompts[0]!.points } })).rejects.toMatchObject({ code: 'NOT_TRAINED' });
  // Train once, as the CLI would (the same record and checkpoints).
  const engine = await EngineClient.start();
  const project = openProject(synth.projectDir);
  try {
    await engine.loadScene(synth.scene);
    await runProjectTraining({ project, engine, count: synth.scene.count }, { iterations: 600, seed: 1, tuning: { lr: 0.025, guidancePixels: 2048, corrPixels: 512 } });
  } finally {
    project.close();
    await engine.close();
  }
  await whenViewsRecorded(client, { view: prompts[0]!.view, prompt: { kind: 'points', points: prompts[0]!.points } });
});

afterAll(() => {
  backend?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('segment.prompt', () => {
  it('selects the clicked object, answering with a bitset and the time of each phase', async () => {
    // The largest object of the scene: its click is well inside it.
    const prompt = [...prompts].sort((a, b) => b.visibleArea - a.visibleArea)[0]!;
    const out = await client.call('segment.prompt', { view: prompt.view, prompt: { kind: 'points', points: prompt.points } });
    expect(out.bits).toBeInstanceOf(Uint8Array);
    expect(out.bits.length).toBe(Math.ceil(synth.scene.count / 8));
    const selection = unpackMask(out.bits, synth.scene.count);
    expect(out.selected).toBe(selection.reduce((a, b) => a + b, 0));
    expect(out.prompted).toBe(out.selected);
    expect(gaussianIoU(selection, synth.objectIds, prompt.targetId)).toBeGreaterThanOrEqual(0.9);
    // 'views': the project's prepared views hold the selection to their masks (the multi-view check).
    for (const phase of ['queries', 'score', 'threshold', 'extend', 'views', 'total']) expect(out.timings[phase]).toBeGreaterThanOrEqual(0);
  });

  it('combines with the current selection (add, subtract) and takes a free camera', async () => {
    const [a, b] = [...prompts].sort((x, y) => y.visibleArea - x.visibleArea);
    const first = await client.call('segment.prompt', { view: a!.view, prompt: { kind: 'points', points: a!.points } });
    const project = openProject(synth.projectDir);
    const camera = project.views().find((v) => v.name === b!.view)!.camera;
    project.close();
    const both = await client.call('segment.prompt', { camera, prompt: { kind: 'points', points: b!.points }, mode: 'add' });
    expect(both.selected).toBeGreaterThan(first.selected);
    const back = await client.call('segment.prompt', { camera, prompt: { kind: 'points', points: b!.points }, mode: 'subtract' });
    expect(back.selected).toBeLessThan(both.selected);
    expect(back.selected).toBeLessThanOrEqual(first.selected);
  });

  it('gives typed errors a user can act on for bad prompts, and an empty selection for a prompt on nothing', async () => {
    const p = prompts[0]!;
    await expect(client.call('segment.prompt', { view: p.view, prompt: { kind: 'points', points: [{ x: 5000, y: 3, label: 1 }] } })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/outside/) });
    await expect(client.call('segment.prompt', { view: 'no-such-view', prompt: { kind: 'points', points: p.points } })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/no view named/) });
    await expect(client.call('segment.prompt', { view: p.view, prompt: { kind: 'box', box: [50, 40, 10, 20] } })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/inverted/) });
    await expect(client.call('segment.prompt', { view: p.view, prompt: { kind: 'mask', width: 4, height: 4, data: new Uint8Array(16) } })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.stringMatching(/empty/) });
    await expect(client.call('segment.prompt', { prompt: { kind: 'points', points: p.points } })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    await expect(client.call('segment.prompt', { view: p.view, prompt: { kind: 'points', points: [] } })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    // A click where the scene renders nothing (the corner of a view looking past the floor) selects nothing.
    const project = openProject(synth.projectDir);
    const camera = project.views()[0]!.camera;
    project.close();
    const away = { ...camera, translation: [camera.translation[0]!, camera.translation[1]!, camera.translation[2]! - 1000] };
    const none = await client.call('segment.prompt', { camera: away, prompt: { kind: 'points', points: [{ x: 1, y: 1, label: 1 }] } });
    expect(none.selected).toBe(0);
    // SAM prompts need views prepared with SAM (these have imported masks): say how to get them.
    await expect(client.call('segment.prompt', { view: p.view, prompt: { kind: 'points', points: p.points, sam: true } })).rejects.toMatchObject({ code: 'MASKS_MISSING', message: expect.stringMatching(/not with SAM.*Install a SAM model/) });
    await expect(client.call('segment.prompt', { camera, prompt: { kind: 'box', box: [1, 1, 20, 20], sam: true } })).rejects.toMatchObject({ code: 'MASKS_MISSING', message: expect.stringMatching(/not prepared with SAM/) });
  });
});

describe('saga-studio segment', () => {
  it('writes selection.json with file-order indices and timings, and the selected Gaussians with all their properties', async () => {
    const prompt = [...prompts].sort((a, b) => b.visibleArea - a.visibleArea)[0]!;
    const out = join(root, 'selection.json');
    const ply = join(root, 'selected.ply');
    const lines: string[] = [];
    const code = await main(['segment', '--project', synth.projectDir, '--view', prompt.view, ...prompt.points.flatMap((p) => ['--point', `${p.x},${p.y},${p.label}`]), '--out', out, '--ply', ply], { stdout: (t) => lines.push(t), stderr: (t) => lines.push(t) });
    expect(code, lines.join('')).toBe(0);
    const json = JSON.parse(readFileSync(out, 'utf8')) as { indices: number[]; timings: Record<string, number> };
    expect(json.indices.length).toBeGreaterThan(0);
    expect([...json.indices].sort((a, b) => a - b)).toEqual(json.indices);
    expect(json.timings.score).toBeGreaterThanOrEqual(0);
    expect(json.timings.views).toBeGreaterThanOrEqual(0);
    const selected = await readScene(ply);
    expect(selected.count).toBe(json.indices.length);
    const ids = selected.extras.find((e) => e.name === 'object_id')!.data;
    json.indices.forEach((g, k) => {
      expect(ids[k]).toBe(synth.objectIds[g]);
      expect(selected.positions[3 * k]).toBe(synth.scene.positions[3 * g]);
    });
    expect(await main(['segment', '--project', synth.projectDir, '--view', prompt.view, '--box', '1,2,3', '--out', out], { stdout: () => {}, stderr: () => {} })).toBe(2);
  });
});
