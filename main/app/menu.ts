/**
 * The application menu, built from the renderer's shortcut table (renderer/src/shortcuts.ts): each
 * entry with a `menu` place becomes an item showing its keys, and clicking it delivers that same
 * key press to the window, so preload exposes only window.saga and there is one code path per
 * command. Only Recent, Quit and the window roles are the menu's own.
 */
import type { MenuItemConstructorOptions } from 'electron';
import type { RecentProject } from '../contract/api.ts';
import { shortcutsFor, type MenuPlace, type Shortcut } from '../../renderer/src/shortcuts.ts';

/** A key press the renderer's shortcut table understands (Electron's sendInputEvent fields). */
export interface ShortcutKey {
  keyCode: string;
  modifiers: ('control' | 'shift' | 'alt')[];
}

export interface MenuActions {
  sendKey(key: ShortcutKey): void;
  openRecent(dir: string): void;
  quit(): void;
}

/** The key of a table entry as Electron names it in accelerators and input events ('Z', '1', 'Delete'). */
function electronKey(code: string): string {
  if (code.startsWith('Key')) return code.slice(3);
  if (code.startsWith('Digit')) return code.slice(5);
  if (code === 'Escape') return 'Esc';
  return code;
}

export function shortcutKey(s: Shortcut): ShortcutKey {
  const modifiers: ShortcutKey['modifiers'] = [];
  if (s.mod) modifiers.push('control');
  if (s.shift) modifiers.push('shift');
  if (s.alt) modifiers.push('alt');
  return { keyCode: electronKey(s.code), modifiers };
}

export function accelerator(s: Shortcut): string {
  return `${s.mod ? 'CmdOrCtrl+' : ''}${s.alt ? 'Alt+' : ''}${s.shift ? 'Shift+' : ''}${electronKey(s.code)}`;
}

/** The table's items of one menu, in table order. */
function tableItems(menu: MenuPlace['menu'], actions: MenuActions): MenuItemConstructorOptions[] {
  return shortcutsFor('electron')
    .filter((s): s is Shortcut & { menu: MenuPlace } => s.menu?.menu === menu)
    .map((s) => ({
      label: s.menu.label,
      // Accelerators are shown for discoverability; the window handles the keys itself, so the
      // menu must not also register them (registerAccelerator false) or each press runs twice.
      accelerator: accelerator(s),
      registerAccelerator: false,
      click: () => actions.sendKey(shortcutKey(s)),
    }));
}

export function buildMenuTemplate(actions: MenuActions, recent: readonly RecentProject[], isMac: boolean): MenuItemConstructorOptions[] {
  const recentItems: MenuItemConstructorOptions[] = recent.length
    ? recent.map((r) => ({ label: r.name, sublabel: r.dir, click: () => actions.openRecent(r.dir) }))
    : [{ label: 'No recent projects', enabled: false }];
  const file = tableItems('File', actions);
  // Recent sits with the openers, before saving.
  const openers = file.findIndex((item) => item.label === 'New Project from…') + 1;
  return [
    {
      label: 'File',
      submenu: [
        ...file.slice(0, openers),
        { label: 'Recent', submenu: recentItems },
        { type: 'separator' },
        ...file.slice(openers),
        { type: 'separator' },
        { label: 'Quit', accelerator: isMac ? 'Cmd+Q' : 'Ctrl+Q', click: () => actions.quit() },
      ],
    },
    {
      label: 'Edit',
      // The roles give text fields (paths, layer names) their clipboard keys, which macOS takes from the menu.
      submenu: [...tableItems('Edit', actions), { type: 'separator' }, { role: 'cut' }, { role: 'copy' }, { role: 'paste' }],
    },
    { label: 'Tools', submenu: tableItems('Tools', actions) },
    {
      label: 'View',
      submenu: [
        ...tableItems('View', actions),
        { type: 'separator' },
        { role: 'reload' },
        { role: 'toggleDevTools' },
        { role: 'togglefullscreen' },
      ],
    },
  ];
}
