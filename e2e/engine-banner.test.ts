/**
 * The engine banner in the page: when the host's GPU engine worker dies (ended here as a crash
 * would end it) and is replaced, the open window shows a banner saying so and that nothing was
 * lost, the scene stays open, and the banner can be dismissed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENES, sharedScene } from './fixtures.ts';
import { openStudio, waitForSplatCount, type StudioSession } from './support/studio.ts';

let studio: StudioSession;

beforeAll(async () => {
  studio = await openStudio({ open: sharedScene(SCENES.inria) });
  await waitForSplatCount(studio.page, 9080);
});

afterAll(async () => {
  await studio?.close();
});

describe('engine banner', () => {
  it('tells the window the GPU engine was restarted after a crash, and goes when dismissed', async () => {
    const { page, server } = studio;
    const backend = server.backend;
    // The engine starts with the open scene (as training or segmentation starts it), then dies.
    const lease = await backend.gpuEngine.lease(backend.openScene!);
    lease.release();
    const banner = page.getByTestId('engine-banner');
    expect(await banner.count()).toBe(0);
    await (await backend.gpuEngine.current!).kill();
    await banner.waitFor({ timeout: 60_000 });
    expect(await banner.textContent()).toMatch(/^The GPU engine stopped unexpectedly \(exit code \d+\); it was restarted\. Your project, its edits and the selection are safe/);
    // The scene is still open and drawn.
    await waitForSplatCount(page, 9080);
    await banner.getByRole('button', { name: 'Dismiss' }).click();
    await banner.waitFor({ state: 'detached', timeout: 5_000 });
    expect(studio.pageErrors).toEqual([]);
  });
});
