import { describe, expect, it } from 'vitest';
import { buildMenuTemplate, MENU_KEYS, type ShortcutKey } from './menu.ts';
import { shortcutFor } from '../../renderer/src/shortcuts.ts';

describe('application menu', () => {
  it('has the File and View commands, and Recent lists recent projects', () => {
    const opened: string[] = [];
    const template = buildMenuTemplate(
      { sendKey: () => undefined, openRecent: (d) => opened.push(d), quit: () => undefined },
      [{ dir: '/p/garden', name: 'garden', openedAt: '2026-01-01T00:00:00Z' }],
      false,
    );
    const labels = (i: number) => (template[i]?.submenu as { label?: string }[]).map((m) => m.label).filter(Boolean);
    expect(labels(0)).toEqual(['Open Scene…', 'Open Project…', 'New Project from…', 'Recent', 'Quit']);
    expect(labels(1)).toEqual(expect.arrayContaining(['Frame Scene', 'Toggle Cameras', 'Toggle Features']));
    const recent = (template[0]?.submenu as { label?: string; submenu?: { click?: () => void }[] }[]).find((m) => m.label === 'Recent');
    recent?.submenu?.[0]?.click?.();
    expect(opened).toEqual(['/p/garden']);
  });

  it('sends key presses the renderer shortcut table maps to the same commands', () => {
    const press = (k: ShortcutKey) =>
      shortcutFor({ code: `Key${k.keyCode}`, ctrlKey: k.modifiers.includes('control'), shiftKey: k.modifiers.includes('shift'), metaKey: false, altKey: false }, 'electron');
    expect(press(MENU_KEYS.openScene)).toBe('open-scene');
    expect(press(MENU_KEYS.openProject)).toBe('open-project');
    expect(press(MENU_KEYS.newProject)).toBe('new-project');
    expect(press(MENU_KEYS.frameScene)).toBe('frame-scene');
    expect(press(MENU_KEYS.toggleCameras)).toBe('toggle-views');
    expect(press(MENU_KEYS.toggleFeatures)).toBe('toggle-features');
  });
});
