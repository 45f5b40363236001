/**
 * The Electron app end to end (Playwright's Electron launcher on the built out/main): the project
 * given on the command line opens, a click segments an object, the selection is deleted and the
 * edited scene is saved, all through preload's window.saga -> main -> the backend's utility
 * process. Needs the Electron binary (node_modules/electron/dist, or ELECTRON_OVERRIDE_DIST_PATH);
 * where it cannot be had, the test skips with one line saying so.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SagaApi } from '../main/contract/api.ts';
import type { SynthProject } from '../main/host/testing/synth-project.ts';
import { PROJECT_ROOT } from './fixtures.ts';

/** The Electron executable, or why there is none. */
function electronBinary(): { path: string } | { missing: string } {
  const override = process.env['ELECTRON_OVERRIDE_DIST_PATH'];
  const pathFile = join(PROJECT_ROOT, 'node_modules/electron/path.txt');
  const path = override ? join(override, 'electron') : existsSync(pathFile) ? join(PROJECT_ROOT, 'node_modules/electron/dist', readFileSync(pathFile, 'utf8').trim()) : undefined;
  if (!path || !existsSync(path)) return { missing: `no Electron binary (${path ?? 'node_modules/electron/path.txt is missing'}; run "npx install-electron" with network access)` };
  return { path };
}

const binary = electronBinary();
if ('missing' in binary) console.log(`e2e/electron.test.ts skipped: ${binary.missing}`);

describe.skipIf('missing' in binary)('Electron app', () => {
  let root: string;
  let synth: SynthProject;
  let app: ElectronApplication;
  let page: Page;

  beforeAll(async () => {
    // Loaded here: a machine without Electron skips without loading the engine.
    const { synthProject } = await import('../main/host/testing/synth-project.ts');
    const { EngineClient } = await import('../main/host/engine-client.ts');
    const { runProjectTraining } = await import('../main/host/training-run.ts');
    const { openProject } = await import('../main/project/store.ts');
    root = mkdtempSync(join(tmpdir(), 'saga-electron-e2e-'));
    synth = await synthProject(root);
    const engine = await EngineClient.start();
    const project = openProject(synth.projectDir);
    try {
      await engine.loadScene(synth.scene);
      await runProjectTraining({ project, engine, count: synth.scene.count }, { iterations: 300, seed: 1, tuning: { lr: 0.025, guidancePixels: 2048, corrPixels: 512 } });
    } finally {
      project.close();
      await engine.close();
    }
    app = await _electron.launch({
      executablePath: (binary as { path: string }).path,
      args: [join(PROJECT_ROOT, 'out/main/index.js'), synth.projectDir],
      env: { ...process.env, ELECTRON_ENABLE_LOGGING: '1' },
    });
    page = await app.firstWindow();
    await page.getByText(/electron · v/).waitFor({ timeout: 60_000 });
  }, 300_000);

  afterAll(async () => {
    await app?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('opens the project, segments a click, deletes it and saves the edited scene', async () => {
    const { readPrompts } = await import('../main/engine/eval/folder.ts');
    const { readScene } = await import('../main/scene/io.ts');
    const prompt = [...(await readPrompts(join(synth.synthDir, 'prompts.json')))].sort((a, b) => b.visibleArea - a.visibleArea)[0]!;
    const out = join(root, 'edited.ply');
    const result = await page.evaluate(
      async ({ view, points, out }) => {
        const saga = (window as unknown as { saga: SagaApi }).saga;
        const info = await saga.call('project.training', {});
        const seg = await saga.call('segment.prompt', { view, prompt: { kind: 'points', points } });
        const del = await saga.call('edit.deleteSelected', {});
        const { jobId } = await saga.call('edit.export', { path: out });
        const end = await new Promise<{ kind: string }>((resolve) => saga.onJobEvent((e) => e.jobId === jobId && e.kind !== 'progress' && resolve(e)));
        return { trained: info.iteration, selected: seg.selected, deleted: del.deleted, end: end.kind };
      },
      { view: prompt.view, points: prompt.points, out },
    );
    expect(result.trained).toBe(300);
    expect(result.selected).toBeGreaterThan(0);
    expect(result.deleted).toBe(result.selected);
    expect(result.end).toBe('result');
    expect((await readScene(out)).count).toBe(synth.scene.count - result.deleted);
    // The window still draws: the backend's work ran outside main.
    expect(await page.getByTestId('close-project').isEnabled()).toBe(true);
  }, 120_000);
});
