import { describe, expect, it } from 'vitest';
import type { MenuItemConstructorOptions } from 'electron';
import { accelerator, buildMenuTemplate, type ShortcutKey } from './menu.ts';
import { SHORTCUTS, shortcutFor, type ShortcutAction } from '../../renderer/src/shortcuts.ts';

/** What a synthesised key press from the menu looks like to the window: key only, as Electron may send it. */
function pressFromMenu(k: ShortcutKey): ShortcutAction | undefined {
  const key = k.keyCode === 'Esc' ? 'Escape' : k.keyCode;
  return shortcutFor(
    { code: '', key: key.length === 1 ? key.toLowerCase() : key, ctrlKey: k.modifiers.includes('control'), shiftKey: k.modifiers.includes('shift'), altKey: k.modifiers.includes('alt'), metaKey: false },
    'electron',
  );
}

function template(sent: ShortcutKey[] = [], opened: string[] = []): MenuItemConstructorOptions[] {
  return buildMenuTemplate(
    { sendKey: (k) => sent.push(k), openRecent: (d) => opened.push(d), quit: () => undefined },
    [{ dir: '/p/garden', name: 'garden', openedAt: '2026-01-01T00:00:00Z' }],
    false,
  );
}

const items = (menu: MenuItemConstructorOptions | undefined) => (menu?.submenu as MenuItemConstructorOptions[]).filter((m) => m.label);

describe('application menu', () => {
  it('has the File, Edit, Tools and View commands, and Recent lists recent projects', () => {
    const opened: string[] = [];
    const t = template([], opened);
    expect(t.map((m) => m.label)).toEqual(['File', 'Edit', 'Tools', 'View']);
    expect(items(t[0]).map((m) => m.label)).toEqual(['Open Scene…', 'Open Project…', 'New Project from…', 'Recent', 'Save Edited Scene…', 'Quit']);
    expect(items(t[1]).map((m) => m.label)).toEqual(['Undo', 'Redo', 'Delete Selected', 'Invert Selection', 'Clear Selection', 'New Layer from Selection']);
    expect(items(t[2]).map((m) => m.label)).toEqual(['Click', 'Scribble', 'Box', 'Mask (Lasso)', 'SAM']);
    expect(items(t[3]).map((m) => m.label)).toEqual(['Frame Scene', 'Toggle Cameras', 'Flip Upside Down', 'Toggle Features']);
    const recent = items(t[0]).find((m) => m.label === 'Recent');
    (recent?.submenu as MenuItemConstructorOptions[])[0]?.click?.({} as never, undefined, {} as never);
    expect(opened).toEqual(['/p/garden']);
  });

  it('every item of the shortcut table with a menu place is in the menu, showing its keys and sending them', () => {
    const sent: ShortcutKey[] = [];
    const t = template(sent);
    const all = t.flatMap(items);
    const placed = SHORTCUTS.filter((s) => s.menu && (!s.hosts || s.hosts.includes('electron')));
    expect(placed.length).toBeGreaterThan(15);
    for (const s of placed) {
      const item = all.find((m) => m.label === s.menu!.label);
      expect(item, s.menu!.label).toBeDefined();
      expect(item!.accelerator).toBe(accelerator(s));
      // The window handles its keys; a registered accelerator would run each command twice.
      expect(item!.registerAccelerator).toBe(false);
      sent.length = 0;
      item!.click?.({} as never, undefined, {} as never);
      expect(sent).toHaveLength(1);
      // The key press the item sends is the one the window maps to the same command.
      expect(pressFromMenu(sent[0]!)).toBe(s.action);
    }
  });

  it('writes accelerators the way Electron reads them', () => {
    const find = (label: string) => SHORTCUTS.find((s) => s.menu?.label === label)!;
    expect(accelerator(find('Redo'))).toBe('CmdOrCtrl+Shift+Z');
    expect(accelerator(find('Delete Selected'))).toBe('Delete');
    expect(accelerator(find('Clear Selection'))).toBe('Alt+A');
    expect(accelerator(find('Click'))).toBe('1');
    expect(accelerator(find('Save Edited Scene…'))).toBe('CmdOrCtrl+S');
  });
});
