import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHORTCUTS, VIEWPORT_CONTROLS, shortcutFor, type Shortcut } from './shortcuts.ts';

const key = (code: string, mods: Partial<{ ctrlKey: boolean; metaKey: boolean; shiftKey: boolean; altKey: boolean }> = {}) => ({
  code,
  ctrlKey: false,
  metaKey: false,
  shiftKey: false,
  altKey: false,
  ...mods,
});

describe('shortcutFor', () => {
  it('maps every table entry to its action', () => {
    expect(shortcutFor(key('KeyF'))).toBe('frame-scene');
    expect(shortcutFor(key('KeyC'))).toBe('toggle-views');
    expect(shortcutFor(key('KeyO', { ctrlKey: true }))).toBe('open-scene');
    expect(shortcutFor(key('KeyO', { metaKey: true, shiftKey: true }))).toBe('open-project');
    expect(shortcutFor(key('KeyN', { ctrlKey: true }))).toBe('new-project');
    expect(shortcutFor(key('Escape'))).toBe('dismiss-error');
    expect(shortcutFor(key('KeyH'))).toBe('toggle-help');
    expect(new Set(SHORTCUTS.map((s) => s.action)).size).toBe(SHORTCUTS.length);
  });

  it('understands events that carry only a key, as synthesised ones may', () => {
    expect(shortcutFor({ ...key(''), key: 'f' })).toBe('frame-scene');
    expect(shortcutFor({ ...key('', { ctrlKey: true, shiftKey: true }), key: 'O' })).toBe('open-project');
  });

  it('leaves fly keys, modified letters and Alt chords alone', () => {
    expect(shortcutFor(key('KeyW'))).toBeUndefined();
    expect(shortcutFor(key('KeyF', { ctrlKey: true }))).toBeUndefined();
    expect(shortcutFor(key('KeyF', { altKey: true }))).toBeUndefined();
  });
});

describe('README "Using the editor"', () => {
  it('lists every key and mouse control of the help panel', () => {
    const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Using the editor'), readme.indexOf('\n## ', readme.indexOf('## Using the editor') + 3));
    expect(section.length).toBeGreaterThan(100);
    const keyOf = (s: Shortcut): string => {
      const key = s.code.startsWith('Key') ? s.code.slice(3) : s.code === 'Escape' ? 'Esc' : s.code;
      return `${s.mod ? 'Ctrl+' : ''}${s.shift ? 'Shift+' : ''}${key}`;
    };
    for (const c of VIEWPORT_CONTROLS) expect(section).toContain(`| ${c.keys} |`);
    for (const s of SHORTCUTS) expect(section).toContain(s.mod ? keyOf(s) : `| ${keyOf(s)} |`);
  });
});
