import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, SCENES, sharedScene } from '../../../e2e/fixtures.ts';
import { main } from '../cli.ts';
import type { CliIO } from '../command.ts';
import { readScene } from '../../scene/io.ts';
import { sceneBounds } from '../../scene/gaussians.ts';
import type { SceneInfo } from '../../scene/scene-info.ts';

function capture(): CliIO & { out: string; err: string } {
  const io = { out: '', err: '', stdout: (t: string) => { io.out += t; }, stderr: (t: string) => { io.err += t; } };
  return io;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'saga-info-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('saga-studio info', () => {
  it('--json describes every shared scene: format, count, SH degree, properties, bounds', async () => {
    const expected: Record<string, { format: string; count: number; shDegree: number; properties: number }> = {
      [SCENES.inria]: { format: 'ply', count: 9080, shDegree: 3, properties: 62 },
      [SCENES.guitar]: { format: 'compressed-ply', count: 90854, shDegree: 0, properties: 14 },
      [SCENES.compressedSh3]: { format: 'compressed-ply', count: 64, shDegree: 3, properties: 59 },
      [SCENES.antimatter]: { format: 'splat', count: 22764, shDegree: 0, properties: 14 },
    };
    for (const [file, want] of Object.entries(expected)) {
      const io = capture();
      const path = sharedScene(file);
      expect(await main(['info', path, '--json'], io), io.err).toBe(0);
      expect(io.err).toBe('');
      const info = JSON.parse(io.out) as SceneInfo;
      expect(info.format).toBe(want.format);
      expect(info.count).toBe(want.count);
      expect(info.shDegree).toBe(want.shDegree);
      expect(info.properties).toHaveLength(want.properties);
      expect(info.nonFinite).toEqual({ count: 0, firstRow: -1 });
      const bounds = sceneBounds(await readScene(path));
      expect(info.bounds).toEqual(bounds);
    }
  });

  it('prints a readable summary with the PLY property order compacted', async () => {
    const io = capture();
    expect(await main(['info', sharedScene(SCENES.inria)], io)).toBe(0);
    expect(io.out).toContain('gaussians:   9,080');
    expect(io.out).toContain('sh degree:   3');
    expect(io.out).toContain('properties:  62: x (float), y (float), z (float), nx (float), ny (float), nz (float), f_dc_0 (float)');
    expect(io.out).toContain('f_rest_0..44 (float)');
    expect(io.out).toContain('format:      3DGS PLY (INRIA layout)');
  });

  it('reads the scene of a training output folder, and says what a folder without one lacks', async () => {
    const output = join(dir, 'output');
    const iteration = join(output, 'point_cloud', 'iteration_7000');
    await mkdir(iteration, { recursive: true });
    await copyFile(sharedScene(SCENES.inria), join(iteration, 'point_cloud.ply'));
    const io = capture();
    expect(await main(['info', output, '--json'], io), io.err).toBe(0);
    expect(JSON.parse(io.out)).toMatchObject({ path: join(iteration, 'point_cloud.ply'), count: 9080 });

    const empty = join(dir, 'empty');
    await mkdir(empty);
    const refused = capture();
    expect(await main(['info', empty], refused)).toBe(1);
    expect(refused.err).toMatch(/holds no Gaussian scene file/);
    expect(refused.err).not.toMatch(/permission/);
  });

  it('--help explains usage, formats, options and exit status', async () => {
    const io = capture();
    expect(await main(['info', '--help'], io)).toBe(0);
    for (const part of ['Usage: saga-studio info <scene-file | folder>', '--json', '--non-finite', '.spz', 'Exit status']) expect(io.out).toContain(part);
  });

  it('fails with exit 1 and one stderr line for bad files, exit 2 for bad usage', async () => {
    const bad = join(dir, 'bad.ply');
    await writeFile(bad, 'ply\nformat binary_little_endian 1.0\nelement vertex 5\nproperty float x\nproperty float y\nproperty float z\nend_header\n');
    for (const [args, code, text] of [
      [['info', join(dir, 'missing.ply')], 1, 'no such file'],
      [['info', bad], 1, 'truncated'],
      [['info'], 2, 'expected exactly one scene file'],
      [['info', bad, '--frobnicate'], 2, "Unknown option '--frobnicate'"],
      [['info', bad, '--non-finite', 'maybe'], 2, '--non-finite must be report, reject or keep'],
    ] as const) {
      const io = capture();
      expect(await main([...args], io)).toBe(code);
      expect(io.out).toBe('');
      expect(io.err.trim().split('\n')).toHaveLength(1);
      expect(io.err).toContain(text);
    }
  });

  it('runs as a real process through main/host/bin.mjs', () => {
    const result = spawnSync(process.execPath, [join(PROJECT_ROOT, 'main/host/bin.mjs'), 'info', sharedScene(SCENES.guitar), '--json'], { encoding: 'utf8', timeout: 60_000 });
    expect(result.status, result.stderr).toBe(0);
    expect((JSON.parse(result.stdout) as SceneInfo).count).toBe(90854);
    const failed = spawnSync(process.execPath, [join(PROJECT_ROOT, 'main/host/bin.mjs'), 'info', join(dir, 'missing.splat')], { encoding: 'utf8', timeout: 60_000 });
    expect(failed.status).toBe(1);
    expect(failed.stdout).toBe('');
    expect(failed.stderr.trim().split('\n')).toHaveLength(1);
    expect(failed.stderr).toMatch(/^saga-studio info: .*missing\.splat: no such file/);
  });
});
