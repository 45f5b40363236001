import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENES, sharedScene } from '../../../e2e/fixtures.ts';
import { main } from '../../host/cli.ts';
import { createProject } from '../../project/store.ts';
import { decodeImage } from './image.ts';
import { projectSourceFor, renderViewImages } from './testing/views.ts';

let root: string;
let projectDir: string;
let cameras: Awaited<ReturnType<typeof renderViewImages>>;

async function run(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'saga-prepare-cli-'));
  const scenePath = sharedScene(SCENES.guitar);
  cameras = await renderViewImages(scenePath, join(root, 'images'), 3, 120, 90);
  projectDir = join(root, 'project');
  createProject(projectDir, { source: await projectSourceFor(scenePath, cameras) }).close();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('saga-studio prepare', () => {
  it('prepares every view with the built-in default, prints progress and recommends SAM', async () => {
    const r = await run('prepare', '--project', projectDir);
    expect(r.code).toBe(0);
    // Progress on stderr, the summary (the command's result) on stdout.
    expect(r.stderr).toContain('view 1 of 3 (orbit-0): done');
    expect(r.stderr).toMatch(/view 2 of 3 \(orbit-1\): done, ETA \d+ s/);
    expect(r.stderr).not.toContain('Prepared');
    expect(r.stdout).toContain('Prepared 3 of 3 views (3 computed, 0 already done)');
    expect(r.stdout).toContain('Mask source: auto');
    expect(r.stdout).toMatch(/install a SAM model/);
    // The command to install it works as printed: it downloads the model.
    expect(r.stdout).toContain(`saga-studio prepare --project ${projectDir} --masks sam --model sam_vit_b_quantized --download`);

    const sheet = join(root, 'sheet.png');
    const again = await run('prepare', '--project', projectDir, '--json', '--contact-sheet', sheet);
    const png = decodeImage(new Uint8Array(readFileSync(sheet)), sheet);
    expect(png.height).toBe(3 * 90 + 2 * 2); // one row per view
    expect(png.width).toBeGreaterThanOrEqual(4 * 120); // the image and at least 3 levels
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('view 3 of 3 (orbit-2): already prepared, skipped');
    const json = JSON.parse(again.stdout) as { skipped: number; source: string };
    expect(json).toMatchObject({ skipped: 3, source: 'auto', contactSheet: sheet });
  });

  it('exits non-zero with a summary when a view image is corrupt, finishing the others', async () => {
    writeFileSync(cameras[1]!.imagePath, 'not an image at all');
    const r = await run('prepare', '--project', projectDir, '--force');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('view 2 of 3 (orbit-1): FAILED');
    expect(r.stdout).toContain('Prepared 2 of 3 views (2 computed, 0 already done), 1 FAILED');
    expect(r.stdout).toContain(`failed: orbit-1: The image ${cameras[1]!.imagePath} cannot be read`);
    expect(r.stderr).toMatch(/1 of 3 views failed .* run the command again/);
  });

  it('explains bad options and missing models', async () => {
    expect((await run('prepare')).code).toBe(2);
    const noModel = await run('prepare', '--project', projectDir, '--masks', 'sam', '--models-dir', join(root, 'models'));
    expect(noModel.code).toBe(2);
    expect(noModel.stderr).toMatch(/needs --model/);
    const missing = await run('prepare', '--project', projectDir, '--model', 'sam_vit_b_quantized', '--models-dir', join(root, 'models'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/not installed/);
    const list = await run('prepare', '--list-models', '--models-dir', join(root, 'models'));
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/sam_vit_h_quantized\s+not installed/);
    expect((await run('prepare', '--project', projectDir, '--masks', join(root, 'no-such-folder'))).code).toBe(2);
  });
});
