import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENES, sharedScene } from '../../../e2e/fixtures.ts';
import type { ApiMethods } from '../../contract/api.ts';
import type { RpcClient } from '../../contract/rpc.ts';
import { writeCheckpoint } from '../../project/checkpoints.ts';
import { readScene } from '../../scene/io.ts';
import { parsePlyHeader } from '../../scene/ply-header.ts';
import type { SagaBackend } from '../backend.ts';
import { main } from '../cli.ts';
import { memoryBackend } from '../testing/memory-backend.ts';

const root = mkdtempSync(join(tmpdir(), 'saga-export-cli-'));
const projectDir = join(root, 'project');
const scenePath = join(root, 'scene.ply');
const COUNT = 9080;
let app: SagaBackend;
let client: RpcClient<ApiMethods>;

async function runCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

function rowsOf(path: string): number {
  return parsePlyHeader(readFileSync(path)).elements[0]!.count;
}

beforeAll(async () => {
  copyFileSync(sharedScene(SCENES.inria), scenePath);
  const imported = await runCli(['import', scenePath, '--project', projectDir]);
  expect(imported.code).toBe(0);
  // The app opens the same project and edits it; it stays open while the CLI exports.
  ({ backend: app, client } = memoryBackend(join(root, 'user-data')));
  await client.call('project.open', { dir: projectDir });
  const select = (from: number, to: number) => app.edits.select('replace', { bytes: new Uint8Array(COUNT).fill(1, from, to) });
  select(0, 2000);
  await client.call('edit.newLayer', { name: 'Chair' });
  select(3000, 3500);
  await client.call('edit.deleteSelected', {});
  select(5000, 6000);
  await client.call('edit.newLayer', { name: 'Lamp' });
  await client.call('edit.showLayer', { layer: 2, visible: false });
});
afterAll(() => {
  app.close();
  rmSync(root, { recursive: true, force: true });
});

describe('saga-studio export', () => {
  it('writes the edited scene the app left (deleted and hidden Gaussians out), while the app has it open', async () => {
    const out = join(root, 'edited.ply');
    const r = await runCli(['export', '--project', projectDir, '--out', out]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Wrote the edited scene: 7,580 of 9,080 Gaussians to .*edited\.ply \(ply, /);
    expect(rowsOf(out)).toBe(COUNT - 500 - 1000);
    // Row 3000 of the output is source row 3500 (the first after the deleted ones): same values.
    const [saved, source] = await Promise.all([readScene(out), readScene(scenePath)]);
    expect(saved.positions.subarray(3000 * 3, 3001 * 3)).toEqual(source.positions.subarray(3500 * 3, 3501 * 3));
    expect(saved.shRest.subarray(3000 * 45, 3001 * 45)).toEqual(source.shRest.subarray(3500 * 45, 3501 * 45));
  });

  it('sees an edit made in the app after the last export', async () => {
    await client.call('edit.undo', {});
    const out = join(root, 'after-undo.ply');
    expect((await runCli(['export', '--project', projectDir, '--out', out])).code).toBe(0);
    expect(rowsOf(out)).toBe(COUNT - 500);
    await client.call('edit.redo', {});
  });

  it('exports one layer by name, with hidden Gaussians, with trained features, and as .splat', async () => {
    const chair = join(root, 'chair.ply');
    expect((await runCli(['export', '--project', projectDir, '--layer', 'chair', '--out', chair])).code).toBe(0);
    expect(rowsOf(chair)).toBe(2000);
    const all = join(root, 'all.ply');
    expect((await runCli(['export', '--project', projectDir, '--include-hidden', '--out', all])).code).toBe(0);
    expect(rowsOf(all)).toBe(COUNT - 500);

    const dim = 4;
    const features = Float32Array.from({ length: COUNT * dim }, (_, k) => k / 7);
    await writeCheckpoint(projectDir, { format: 'saga-training-checkpoint', version: 1, iteration: 100, iterations: 100, count: COUNT, dim, seed: 1, masksKey: 'cli', options: {}, createdAt: new Date().toISOString() }, { features });
    const withFeatures = join(root, 'lamp-features.ply');
    const r = await runCli(['export', '--project', projectDir, '--layer', 'Lamp', '--features', '--out', withFeatures]);
    expect(r.out).toMatch(/Wrote layer "Lamp": 1,000 of 9,080 Gaussians with 4 feature channels/);
    const lamp = await readScene(withFeatures);
    expect(lamp.count).toBe(1000);
    const f2 = lamp.extras.find((e) => e.name === 'f_feat_2')!;
    expect(f2.data[0]).toBe(features[5000 * dim + 2]);

    const splat = join(root, 'edited.splat');
    expect((await runCli(['export', '--project', projectDir, '--out', splat])).code).toBe(0);
    expect((await readScene(splat)).count).toBe(COUNT - 1500);
  });

  it('refuses the source scene, an existing file without --force, unknown layers and missing options, writing nothing', async () => {
    const before = readFileSync(scenePath);
    const source = await runCli(['export', '--project', projectDir, '--out', scenePath]);
    expect(source.code).toBe(1);
    expect(source.err).toMatch(/is this project's source scene/);
    expect(readFileSync(scenePath).equals(before)).toBe(true);

    const out = join(root, 'edited.ply');
    const exists = await runCli(['export', '--project', projectDir, '--out', out]);
    expect(exists.code).toBe(1);
    expect(exists.err).toMatch(/already exists/);
    expect((await runCli(['export', '--project', projectDir, '--out', out, '--force'])).code).toBe(0);

    const layer = await runCli(['export', '--project', projectDir, '--layer', 'Sofa', '--out', join(root, 'sofa.ply')]);
    expect(layer.code).toBe(2);
    expect(layer.err).toMatch(/no layer "Sofa". Its layers: "Chair", "Lamp"/);
    expect(existsSync(join(root, 'sofa.ply'))).toBe(false);
    expect((await runCli(['export', '--project', projectDir])).err).toMatch(/--out/);
    expect((await runCli(['export', '--out', out])).err).toMatch(/--project/);
    const missing = await runCli(['export', '--project', projectDir, '--out', join(root, 'nowhere', 'x.ply')]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/does not exist/);
    expect((await runCli(['export', '--project', join(root, 'no-project'), '--out', join(root, 'x.ply')])).err).toMatch(/No SAGA Studio project/);
  });
});
