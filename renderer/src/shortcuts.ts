/**
 * Every keyboard shortcut of the editor in one table (camera movement keys live in
 * viewport/fly.ts because they act while held, not on press).
 */
export type ShortcutAction = 'frame-scene' | 'toggle-views' | 'open-scene' | 'open-project' | 'new-project' | 'dismiss-error';

export interface Shortcut {
  /** KeyboardEvent.code */
  code: string;
  /** Ctrl on Linux/Windows, Cmd on macOS. */
  mod?: boolean;
  action: ShortcutAction;
  label: string;
}

export const SHORTCUTS: readonly Shortcut[] = [
  { code: 'KeyF', action: 'frame-scene', label: 'Frame the scene' },
  { code: 'KeyC', action: 'toggle-views', label: 'Show or hide training cameras' },
  { code: 'KeyO', mod: true, action: 'open-scene', label: 'Open a scene file' },
  { code: 'KeyO', mod: true, action: 'open-project', label: 'Open a project (with Shift)' },
  { code: 'KeyN', mod: true, action: 'new-project', label: 'New project from a scene' },
  { code: 'Escape', action: 'dismiss-error', label: 'Dismiss the error' },
];

/** The action a key press triggers, or undefined. Shift+Ctrl+O opens a project, Ctrl+O a scene. */
export function shortcutFor(e: { code: string; key?: string; ctrlKey: boolean; metaKey: boolean; shiftKey: boolean; altKey: boolean }): ShortcutAction | undefined {
  const mod = e.ctrlKey || e.metaKey;
  if (e.altKey) return undefined;
  // Synthesised key events (Electron's sendInputEvent from the menu) may carry only `key`.
  const code = e.code || codeFromKey(e.key);
  return actionFor({ ...e, code }, mod);
}

function codeFromKey(key: string | undefined): string {
  if (!key) return '';
  return /^[a-z]$/i.test(key) ? `Key${key.toUpperCase()}` : key;
}

function actionFor(e: { code: string; shiftKey: boolean }, mod: boolean): ShortcutAction | undefined {
  if (mod && e.code === 'KeyO') return e.shiftKey ? 'open-project' : 'open-scene';
  if (mod && e.code === 'KeyN' && !e.shiftKey) return 'new-project';
  return SHORTCUTS.find((s) => s.code === e.code && !s.mod && !mod && !e.shiftKey)?.action;
}
