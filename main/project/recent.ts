/**
 * The recent-projects list, kept as JSON in a user-data folder the host passes in (Electron's
 * app.getPath('userData'), or a folder of the browser-mode server). No Electron import here.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { RecentProject } from '../contract/api.ts';

export const RECENT_FILE = 'recent-projects.json';

export class RecentProjects {
  private readonly path: string;

  constructor(
    private readonly userDataDir: string,
    private readonly limit = 12,
    private readonly warn: (message: string) => void = (m) => console.warn(m),
  ) {
    this.path = join(userDataDir, RECENT_FILE);
  }

  list(): RecentProject[] {
    if (!existsSync(this.path)) return [];
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (e) {
      // Unreadable is not damaged (permissions, a folder in the way): leave the file as it is.
      this.warn(`Recent projects list ${this.path} could not be read (${e instanceof Error ? e.message : String(e)}).`);
      return [];
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      // A damaged list only costs the user their recents: keep a copy for inspection and start over.
      const aside = `${this.path}.damaged`;
      renameSync(this.path, aside);
      this.warn(`Recent projects list was unreadable (${e instanceof Error ? e.message : String(e)}); moved it to ${aside}.`);
      return [];
    }
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(
      (p): p is RecentProject =>
        typeof p === 'object' &&
        p !== null &&
        typeof p.dir === 'string' &&
        typeof p.name === 'string' &&
        typeof p.openedAt === 'string' &&
        (p.scenePath === undefined || typeof p.scenePath === 'string'),
    );
  }

  /**
   * Put `dir` first (it was just opened), dropping older duplicates and entries past the limit.
   * `scenePath`, the scene the project edits, lets "Open Scene" on that scene offer the project.
   */
  touch(dir: string, name: string, { scenePath, openedAt = new Date().toISOString() }: { scenePath?: string; openedAt?: string } = {}): RecentProject[] {
    const abs = resolve(dir);
    const entry: RecentProject = { dir: abs, name, openedAt, ...(scenePath ? { scenePath: resolve(scenePath) } : {}) };
    const next = [entry, ...this.list().filter((p) => p.dir !== abs)].slice(0, this.limit);
    this.save(next);
    return next;
  }

  remove(dir: string): RecentProject[] {
    const abs = resolve(dir);
    const next = this.list().filter((p) => p.dir !== abs);
    this.save(next);
    return next;
  }

  private save(list: RecentProject[]): void {
    mkdirSync(this.userDataDir, { recursive: true });
    const tmp = `${this.path}.tmp-${randomBytes(6).toString('hex')}`;
    writeFileSync(tmp, JSON.stringify(list, null, 2));
    renameSync(tmp, this.path);
  }
}
