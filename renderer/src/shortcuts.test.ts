import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHORTCUTS, VIEWPORT_CONTROLS, helpRows, keyTableMarkdown, keysOf, shortcutFor, type KeyPress } from './shortcuts.ts';

const key = (code: string, mods: Partial<Omit<KeyPress, 'code'>> = {}): KeyPress => ({
  code,
  ctrlKey: false,
  metaKey: false,
  shiftKey: false,
  altKey: false,
  ...mods,
});

/** Like a DOM KeyboardEvent: its fields are getters on the prototype, not own properties. */
class PrototypeKeyEvent {
  readonly #press: KeyPress;
  constructor(press: KeyPress) {
    this.#press = press;
  }
  get code(): string {
    return this.#press.code;
  }
  get ctrlKey(): boolean {
    return this.#press.ctrlKey;
  }
  get metaKey(): boolean {
    return this.#press.metaKey;
  }
  get shiftKey(): boolean {
    return this.#press.shiftKey;
  }
  get altKey(): boolean {
    return this.#press.altKey;
  }
}

describe('shortcutFor', () => {
  it('maps every table entry to its action', () => {
    expect(shortcutFor(key('KeyF'), 'electron')).toBe('frame-scene');
    expect(shortcutFor(key('KeyC'), 'electron')).toBe('toggle-views');
    expect(shortcutFor(key('KeyU'), 'browser')).toBe('flip-up');
    expect(shortcutFor(key('KeyT'), 'browser')).toBe('toggle-features');
    expect(shortcutFor(key('KeyO', { ctrlKey: true }), 'electron')).toBe('open-scene');
    expect(shortcutFor(key('KeyO', { metaKey: true, shiftKey: true }), 'electron')).toBe('open-project');
    expect(shortcutFor(key('KeyN', { ctrlKey: true }), 'electron')).toBe('new-project');
    expect(shortcutFor(key('Escape'), 'electron')).toBe('dismiss-error');
    expect(shortcutFor(key('KeyH'), 'electron')).toBe('toggle-help');
  });

  it('reads the modifiers of a real KeyboardEvent, whose fields live on its prototype', () => {
    const press = (code: string, mods: Partial<Omit<KeyPress, 'code'>>) => shortcutFor(new PrototypeKeyEvent(key(code, mods)), 'browser');
    expect(press('KeyO', { ctrlKey: true, shiftKey: true })).toBe('open-project');
    expect(press('KeyO', { ctrlKey: true })).toBe('open-scene');
    expect(press('KeyF', { shiftKey: true })).toBeUndefined();
    expect(press('KeyN', { ctrlKey: true, altKey: true })).toBe('new-project');
  });

  it('needs the exact modifiers: Shift, Ctrl or Alt added to a key is another key', () => {
    for (const s of SHORTCUTS) {
      const base = key(s.code, { ctrlKey: !!s.mod, shiftKey: !!s.shift, altKey: !!s.alt });
      const host = s.hosts?.[0] ?? 'electron';
      expect(shortcutFor(base, host)).toBe(s.action);
      if (!s.shift) expect(shortcutFor({ ...base, shiftKey: true }, host)).not.toBe(s.action);
      if (!s.mod) expect(shortcutFor({ ...base, ctrlKey: true }, host)).not.toBe(s.action);
    }
  });

  it('in the browser, where Ctrl+N opens a window, a new project is Ctrl+Alt+N', () => {
    expect(shortcutFor(key('KeyN', { ctrlKey: true }), 'browser')).toBeUndefined();
    expect(shortcutFor(key('KeyN', { ctrlKey: true, altKey: true }), 'browser')).toBe('new-project');
    expect(shortcutFor(key('KeyN', { ctrlKey: true, altKey: true }), 'electron')).toBeUndefined();
    expect(keysOf('new-project', 'browser')).toBe('Ctrl+Alt+N');
    expect(keysOf('new-project', 'electron')).toBe('Ctrl+N');
    // The help panel lists each action once, with all of its keys.
    for (const host of ['electron', 'browser'] as const) {
      const actions = helpRows(host).map((r) => r.action);
      expect(new Set(actions).size).toBe(actions.length);
    }
    expect(keysOf('redo', 'browser')).toBe('Ctrl+Shift+Z or Ctrl+Y');
  });

  it('maps the editing keys: undo, both redos, Delete, the tools, saving', () => {
    expect(shortcutFor(key('KeyZ', { ctrlKey: true }), 'browser')).toBe('undo');
    expect(shortcutFor(key('KeyZ', { ctrlKey: true, shiftKey: true }), 'browser')).toBe('redo');
    expect(shortcutFor(key('KeyY', { ctrlKey: true }), 'browser')).toBe('redo');
    expect(shortcutFor(key('KeyS', { ctrlKey: true }), 'browser')).toBe('save-scene');
    expect(shortcutFor(key('Delete'), 'browser')).toBe('delete-selected');
    expect(shortcutFor(key('Digit1'), 'browser')).toBe('tool-click');
    expect(shortcutFor(key('Digit4'), 'browser')).toBe('tool-mask');
    expect(shortcutFor(key('KeyA', { altKey: true }), 'browser')).toBe('clear-selection');
    // Plain S and A fly the camera; only their chords are shortcuts.
    expect(shortcutFor(key('KeyS'), 'browser')).toBeUndefined();
    expect(shortcutFor(key('KeyA'), 'browser')).toBeUndefined();
  });

  it('understands events that carry only a key, as synthesised ones may', () => {
    expect(shortcutFor({ ...key(''), key: 'f' }, 'electron')).toBe('frame-scene');
    expect(shortcutFor({ ...key(''), key: '3' }, 'electron')).toBe('tool-box');
    expect(shortcutFor({ ...key(''), key: 'Delete' }, 'electron')).toBe('delete-selected');
    expect(shortcutFor({ ...key('', { ctrlKey: true, shiftKey: true }), key: 'O' }, 'electron')).toBe('open-project');
  });

  it('leaves fly keys, modified letters and Alt chords alone', () => {
    expect(shortcutFor(key('KeyW'), 'electron')).toBeUndefined();
    expect(shortcutFor(key('KeyF', { ctrlKey: true }), 'electron')).toBeUndefined();
    expect(shortcutFor(key('KeyF', { altKey: true }), 'electron')).toBeUndefined();
  });
});

describe('viewport controls', () => {
  it('name the fly keys the viewport reads', () => {
    expect(VIEWPORT_CONTROLS.map((c) => c.keys)).toEqual(expect.arrayContaining(['W A S D', 'Q E']));
  });
});

describe('README "Using the editor"', () => {
  it('holds the key table made from the shortcut table and the viewport controls', () => {
    const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
    const table = keyTableMarkdown();
    // On failure, paste the table this prints into the README's "Using the editor" section.
    expect(readme.includes(table), `README.md's key table is out of date; it should read:\n\n${table}\n`).toBe(true);
    for (const c of VIEWPORT_CONTROLS) expect(table).toContain(`| ${c.keys} |`);
    for (const s of SHORTCUTS) expect(table).toContain(s.label.replace('this help', 'the help panel'));
  });
});
