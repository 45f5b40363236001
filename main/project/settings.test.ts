import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SCENES, sharedScene } from '../../e2e/fixtures.ts';
import { updateSettings } from './settings.ts';
import { PROJECT_DB, createProject, openProject } from './store.ts';
import { plySource } from './test-source.ts';

const root = mkdtempSync(join(tmpdir(), 'saga-settings-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('project settings', () => {
  it('default to upright, survive closing the project, and live in the project database', async () => {
    const dir = join(root, 'p');
    const project = createProject(dir, { source: await plySource(sharedScene(SCENES.inria)) });
    expect(project.info().settings).toEqual({ upFlipped: false });
    expect(updateSettings(project, { upFlipped: true })).toEqual({ upFlipped: true });
    // An empty change keeps what is stored.
    expect(updateSettings(project, {})).toEqual({ upFlipped: true });
    project.close();

    const reopened = openProject(dir);
    expect(reopened.info().settings).toEqual({ upFlipped: true });
    expect(updateSettings(reopened, { upFlipped: false })).toEqual({ upFlipped: false });
    reopened.close();
    // In the project's own file, where a copy of the folder takes it along.
    const db = new Database(join(dir, PROJECT_DB), { readonly: true });
    expect(db.prepare("SELECT value FROM meta WHERE key = 'settings.up_flipped'").get()).toEqual({ value: '0' });
    db.close();
  });
});
