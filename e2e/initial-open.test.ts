/** `saga-studio serve --open <scene>`: the page opens the scene by itself when it loads. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENES, sharedScene } from './fixtures.ts';
import { openStudio, waitForSplatCount, type StudioSession } from './support/studio.ts';

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
});
