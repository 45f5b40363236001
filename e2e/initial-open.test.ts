/** `saga-studio serve --open <scene>`: the page opens the scene by itself when it loads. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { ARTIFACTS, SCENES, sharedScene } from './fixtures.ts';
import { framesDrawn, openStudio, waitForSplatCount, type StudioSession } from './support/studio.ts';

describe('serve --open', () => {
  let studio: StudioSession;

  beforeAll(async () => {
    studio = await openStudio({ open: sharedScene(SCENES.antimatter) });
  });

  afterAll(async () => {
    await studio?.close();
  });

  it('shows the scene the host was started with, without any clicks', async () => {
    await waitForSplatCount(studio.page, 22764);
    expect(await studio.page.getByTestId('scene-path').textContent()).toBe(SCENES.antimatter);
    expect(await studio.page.getByTestId('error-banner').count()).toBe(0);
  });

  it('draws nothing while nothing changes (an idle editor leaves the CPU alone)', async () => {
    const before = await framesDrawn(studio.page);
    await studio.page.waitForTimeout(3000);
    // One straggler (a sort finishing) is fine; a render loop is not.
    expect((await framesDrawn(studio.page)) - before).toBeLessThanOrEqual(1);
  });

  it('lists the keys and mouse controls on H, and closes on Escape', async () => {
    const { page } = studio;
    await page.getByTestId('viewport').hover();
    await page.keyboard.press('KeyH');
    const help = page.getByTestId('help-panel');
    await help.waitFor();
    expect(await help.textContent()).toContain('Frame the scene');
    expect(await help.textContent()).toContain('W A S D');
    expect(await help.textContent()).toContain('Q E');
    await page.screenshot({ path: join(ARTIFACTS, 'e2e-help.png') });
    await page.keyboard.press('Escape');
    await help.waitFor({ state: 'detached' });
  });
});
