/**
 * The application menu. Commands the window already has shortcuts for are delivered as those same
 * key presses (renderer/src/shortcuts.ts), so preload exposes only window.saga and there is one
 * code path per command.
 */
import type { MenuItemConstructorOptions } from 'electron';
import type { RecentProject } from '../contract/api.ts';

/** A key press the renderer's shortcut table understands. */
export interface ShortcutKey {
  keyCode: string;
  modifiers: ('control' | 'shift')[];
}

export const MENU_KEYS = {
  openScene: { keyCode: 'O', modifiers: ['control'] },
  openProject: { keyCode: 'O', modifiers: ['control', 'shift'] },
  newProject: { keyCode: 'N', modifiers: ['control'] },
  frameScene: { keyCode: 'F', modifiers: [] },
  toggleCameras: { keyCode: 'C', modifiers: [] },
  toggleFeatures: { keyCode: 'T', modifiers: [] },
} as const satisfies Record<string, ShortcutKey>;

export interface MenuActions {
  sendKey(key: ShortcutKey): void;
  openRecent(dir: string): void;
  quit(): void;
}

export function buildMenuTemplate(actions: MenuActions, recent: readonly RecentProject[], isMac: boolean): MenuItemConstructorOptions[] {
  const recentItems: MenuItemConstructorOptions[] = recent.length
    ? recent.map((r) => ({ label: r.name, sublabel: r.dir, click: () => actions.openRecent(r.dir) }))
    : [{ label: 'No recent projects', enabled: false }];
  return [
    {
      label: 'File',
      submenu: [
        // Accelerators are shown for discoverability; the window handles the keys itself, so the
        // menu must not also register them (registerAccelerator false) or each press runs twice.
        { label: 'Open Scene…', accelerator: 'CmdOrCtrl+O', registerAccelerator: false, click: () => actions.sendKey(MENU_KEYS.openScene) },
        { label: 'Open Project…', accelerator: 'CmdOrCtrl+Shift+O', registerAccelerator: false, click: () => actions.sendKey(MENU_KEYS.openProject) },
        { label: 'New Project from…', accelerator: 'CmdOrCtrl+N', registerAccelerator: false, click: () => actions.sendKey(MENU_KEYS.newProject) },
        { label: 'Recent', submenu: recentItems },
        { type: 'separator' },
        { label: 'Quit', accelerator: isMac ? 'Cmd+Q' : 'Ctrl+Q', click: () => actions.quit() },
      ],
    },
    {
      label: 'View',
      submenu: [
        { label: 'Frame Scene', accelerator: 'F', registerAccelerator: false, click: () => actions.sendKey(MENU_KEYS.frameScene) },
        { label: 'Toggle Cameras', accelerator: 'C', registerAccelerator: false, click: () => actions.sendKey(MENU_KEYS.toggleCameras) },
        { label: 'Toggle Features', accelerator: 'T', registerAccelerator: false, click: () => actions.sendKey(MENU_KEYS.toggleFeatures) },
        { type: 'separator' },
        { role: 'reload' },
        { role: 'toggleDevTools' },
        { role: 'togglefullscreen' },
      ],
    },
  ];
}
