/**
 * The editing tests' starting point: a synthetic project (main/host/testing/synth-project.ts)
 * trained briefly in Node, as the CLI would, and the object to click: the largest one the first
 * training view shows (the viewport opens there). Also where a pixel of that view lands on the page,
 * the selection count the toolbar shows, and keys sent to the editor rather than to a field.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { readPrompts } from '../../main/engine/eval/folder.ts';
import type { EvalPrompt } from '../../main/engine/eval/types.ts';
import { EngineClient } from '../../main/host/engine-client.ts';
import { synthProject, type SynthProject } from '../../main/host/testing/synth-project.ts';
import { runProjectTraining } from '../../main/host/training-run.ts';
import { openProject } from '../../main/project/store.ts';
import type { Camera } from '../../main/scene/camera.ts';
import { viewToCanvasPixel } from '../../renderer/src/viewport/camera-math.ts';

export interface TrainedProject {
  synth: SynthProject;
  /** The source scene's path, as the project records it. */
  sourcePath: string;
  /** The first training view's camera. */
  camera: Camera;
  /** The largest object the first view shows, with its prompt points. */
  prompt: EvalPrompt;
}

export async function trainedSynthProject(
  root: string,
  options: Parameters<typeof synthProject>[1] & { iterations: number; threads?: number },
): Promise<TrainedProject> {
  const { iterations, threads, ...synthOptions } = options;
  const synth = await synthProject(root, synthOptions);
  const engine = await EngineClient.start();
  const project = openProject(synth.projectDir);
  let camera: Camera;
  let sourcePath: string;
  try {
    sourcePath = project.sceneSource().scenePath;
    await engine.loadScene(synth.scene);
    await runProjectTraining({ project, engine, count: synth.scene.count }, { iterations, seed: 1, tuning: { lr: 0.025, guidancePixels: 2048, corrPixels: 512, ...(threads ? { threads } : {}) } });
    camera = project.views()[0]!.camera;
  } finally {
    project.close();
    await engine.close();
  }
  const prompt = (await readPrompts(join(synth.synthDir, 'prompts.json'))).filter((p) => p.view === camera.name).sort((a, b) => b.visibleArea - a.visibleArea)[0];
  if (!prompt) throw new Error(`The synthetic project has no prompt in its first view ${camera.name}.`);
  return { synth, sourcePath, camera, prompt };
}

/** The viewport canvas's drawing size and where it sits on the page (CSS pixels). */
export interface CanvasGeometry {
  width: number;
  height: number;
  left: number;
  top: number;
  cssWidth: number;
  cssHeight: number;
}

export function viewportGeometry(page: Page): Promise<CanvasGeometry> {
  return page.getByTestId('viewport').evaluate((el) => {
    const c = el as HTMLCanvasElement;
    const r = c.getBoundingClientRect();
    return { width: c.width, height: c.height, left: r.left, top: r.top, cssWidth: r.width, cssHeight: r.height };
  });
}

/** Where pixel (x, y) of `camera`'s image shows on the page while the viewport sits at that camera. */
export function pageAt(camera: Camera, geometry: CanvasGeometry, x: number, y: number): { x: number; y: number } {
  const at = viewToCanvasPixel(camera, geometry, x, y);
  return { x: geometry.left + (at.x * geometry.cssWidth) / geometry.width, y: geometry.top + (at.y * geometry.cssHeight) / geometry.height };
}

/** The number of selected Gaussians the toolbar shows. */
export async function selectionCount(page: Page): Promise<number> {
  return Number(await page.getByTestId('selection-count').textContent());
}

/** Keys go to the window, not to a field that still has focus (there they would be typing). */
export async function pressForEditor(page: Page, keys: string): Promise<void> {
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.keyboard.press(keys);
}
