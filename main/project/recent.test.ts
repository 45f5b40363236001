import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RECENT_FILE, RecentProjects } from './recent.ts';

const root = mkdtempSync(join(tmpdir(), 'saga-recent-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('recent projects', () => {
  it('keeps the most recent first, without duplicates, up to the limit, across instances', () => {
    const userData = join(root, 'a');
    const recent = new RecentProjects(userData, 3);
    expect(recent.list()).toEqual([]);
    recent.touch('/p/one', 'one', { openedAt: '2026-01-01T00:00:00.000Z' });
    recent.touch('/p/two', 'two', { openedAt: '2026-01-02T00:00:00.000Z' });
    recent.touch('/p/one', 'one', { openedAt: '2026-01-03T00:00:00.000Z' });
    recent.touch('/p/three', 'three');
    recent.touch('/p/four', 'four');
    expect(new RecentProjects(userData, 3).list().map((p) => p.name)).toEqual(['four', 'three', 'one']);
    expect(recent.remove('/p/three').map((p) => p.name)).toEqual(['four', 'one']);
  });

  it('moves a damaged list aside and starts over, with a warning', () => {
    const userData = join(root, 'b');
    const warnings: string[] = [];
    const recent = new RecentProjects(userData, 5, (m) => warnings.push(m));
    recent.touch('/p/x', 'x');
    writeFileSync(join(userData, RECENT_FILE), '{ not json');
    expect(recent.list()).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(existsSync(join(userData, `${RECENT_FILE}.damaged`))).toBe(true);
  });

  it('leaves an unreadable list where it is (not damaged, just unreadable) and warns', () => {
    const userData = join(root, 'c');
    // A folder where the file should be: reading fails with EISDIR, like a permissions problem would.
    mkdirSync(join(userData, RECENT_FILE), { recursive: true });
    const warnings: string[] = [];
    expect(new RecentProjects(userData, 5, (m) => warnings.push(m)).list()).toEqual([]);
    expect(warnings.join('')).toMatch(/could not be read/);
    expect(existsSync(join(userData, `${RECENT_FILE}.damaged`))).toBe(false);
    expect(existsSync(join(userData, RECENT_FILE))).toBe(true);
  });
});
