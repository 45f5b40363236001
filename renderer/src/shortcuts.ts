/**
 * Every keyboard shortcut of the editor in one table (camera movement keys live in
 * viewport/fly.ts because they act while held, not on press).
 */
export type ShortcutAction = 'frame-scene' | 'toggle-views' | 'open-scene' | 'open-project' | 'new-project' | 'toggle-help' | 'dismiss-error';

/** Mouse and held-key controls of the viewport, for the help panel (they are not press actions). */
export const VIEWPORT_CONTROLS: readonly { keys: string; label: string }[] = [
  { keys: 'Left drag', label: 'Orbit around the target' },
  { keys: 'Right drag', label: 'Pan' },
  { keys: 'Wheel', label: 'Zoom' },
  { keys: 'W A S D', label: 'Fly forward, left, back, right' },
  { keys: 'Q E', label: 'Fly down, up' },
  { keys: 'Shift', label: 'Fly four times faster' },
  { keys: 'Click a camera', label: 'Jump to that training view' },
];

export interface Shortcut {
  /** KeyboardEvent.code */
  code: string;
  /** Ctrl on Linux/Windows, Cmd on macOS. */
  mod?: boolean;
  shift?: boolean;
  action: ShortcutAction;
  label: string;
}

export const SHORTCUTS: readonly Shortcut[] = [
  { code: 'KeyF', action: 'frame-scene', label: 'Frame the scene' },
  { code: 'KeyC', action: 'toggle-views', label: 'Show or hide training cameras' },
  { code: 'KeyO', mod: true, action: 'open-scene', label: 'Open a scene file' },
  { code: 'KeyO', mod: true, shift: true, action: 'open-project', label: 'Open a project' },
  { code: 'KeyN', mod: true, action: 'new-project', label: 'New project from a scene' },
  { code: 'KeyH', action: 'toggle-help', label: 'Show or hide this help' },
  { code: 'Escape', action: 'dismiss-error', label: 'Dismiss the error or close this help' },
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
