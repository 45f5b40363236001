/**
 * Every keyboard shortcut of the editor in one table, and the rules for which key presses are the
 * editor's at all (camera movement keys live in viewport/fly.ts because they act while held, not
 * on press; the viewport asks keyIsForEditor too).
 */
import type { AppInfo } from '../../main/contract/api.ts';
import { FLY_KEYS, type FlyDirection } from './viewport/fly.ts';

export type ShortcutAction =
  | 'frame-scene'
  | 'toggle-views'
  | 'flip-up'
  | 'toggle-features'
  | 'open-scene'
  | 'open-project'
  | 'new-project'
  | 'toggle-help'
  | 'dismiss-error';

export type Host = AppInfo['host'];

/** The letters of the fly keys for `directions`, e.g. "W A S D", read from the table the viewport uses. */
function flyKeys(...directions: FlyDirection[]): string {
  return directions.map((d) => Object.keys(FLY_KEYS).find((code) => FLY_KEYS[code] === d)?.replace(/^Key/, '') ?? '?').join(' ');
}

/** Mouse and held-key controls of the viewport, for the help panel (they are not press actions). */
export const VIEWPORT_CONTROLS: readonly { keys: string; label: string }[] = [
  { keys: 'Left drag', label: 'Orbit around the target' },
  { keys: 'Right drag', label: 'Pan' },
  { keys: 'Wheel', label: 'Zoom' },
  { keys: flyKeys('forward', 'left', 'back', 'right'), label: 'Fly forward, left, back, right' },
  { keys: flyKeys('down', 'up'), label: 'Fly down, up' },
  { keys: 'Shift', label: 'Fly four times faster' },
  { keys: 'Click a camera', label: 'Jump to that training view' },
];

export interface Shortcut {
  /** KeyboardEvent.code */
  code: string;
  /** Ctrl on Linux/Windows, Cmd on macOS. */
  mod?: boolean;
  shift?: boolean;
  alt?: boolean;
  /** Only in these hosts (absent: all). */
  hosts?: readonly Host[];
  action: ShortcutAction;
  label: string;
}

/**
 * Modifiers must match exactly: Ctrl+Shift+O is not Ctrl+O, and Shift+F is not F. A browser keeps
 * Ctrl+N for a new window and never lets the page see it, so there a new project is Ctrl+Alt+N
 * (as VS Code for the Web does for its new file).
 */
export const SHORTCUTS: readonly Shortcut[] = [
  { code: 'KeyF', action: 'frame-scene', label: 'Frame the scene' },
  { code: 'KeyC', action: 'toggle-views', label: 'Show or hide training cameras' },
  { code: 'KeyU', action: 'flip-up', label: 'Turn the scene upside down (remembered with the project)' },
  { code: 'KeyT', action: 'toggle-features', label: 'Colour splats by their trained features, or back to their own colours' },
  { code: 'KeyO', mod: true, action: 'open-scene', label: 'Open a scene file' },
  { code: 'KeyO', mod: true, shift: true, action: 'open-project', label: 'Open a project' },
  { code: 'KeyN', mod: true, hosts: ['electron', 'memory'], action: 'new-project', label: 'New project from a scene' },
  { code: 'KeyN', mod: true, alt: true, hosts: ['browser'], action: 'new-project', label: 'New project from a scene' },
  { code: 'KeyH', action: 'toggle-help', label: 'Show or hide this help' },
  { code: 'Escape', action: 'dismiss-error', label: 'Dismiss the error or close this help' },
];

/** The shortcuts that work in `host`. */
export function shortcutsFor(host: Host): Shortcut[] {
  return SHORTCUTS.filter((s) => !s.hosts || s.hosts.includes(host));
}

/** "Ctrl+Shift+O", "F", "Esc": how the help panel, tooltips and the README write a shortcut. */
export function keysLabel(s: Pick<Shortcut, 'code' | 'mod' | 'shift' | 'alt'>): string {
  const key = s.code.startsWith('Key') ? s.code.slice(3) : s.code === 'Escape' ? 'Esc' : s.code;
  return `${s.mod ? 'Ctrl+' : ''}${s.alt ? 'Alt+' : ''}${s.shift ? 'Shift+' : ''}${key}`;
}

/** The keys of `action` in `host`, for tooltips ("Open a project (Ctrl+Shift+O)"). */
export function keysOf(action: ShortcutAction, host: Host): string {
  const s = shortcutsFor(host).find((x) => x.action === action);
  return s ? keysLabel(s) : '';
}

/** The parts of a key press that decide its shortcut (a KeyboardEvent has them as getters). */
export interface KeyPress {
  code: string;
  key?: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
}

/** The action a key press triggers in `host`, or undefined. */
export function shortcutFor(e: KeyPress, host: Host): ShortcutAction | undefined {
  // Read each field: a KeyboardEvent's fields are prototype getters, which spreading would drop.
  const mod = e.ctrlKey || e.metaKey;
  const shift = e.shiftKey;
  const alt = e.altKey;
  // Synthesised key events (Electron's sendInputEvent from the menu) may carry only `key`.
  const code = e.code || codeFromKey(e.key);
  return shortcutsFor(host).find((s) => s.code === code && !!s.mod === mod && !!s.shift === shift && !!s.alt === alt)?.action;
}

function codeFromKey(key: string | undefined): string {
  if (!key) return '';
  return /^[a-z]$/i.test(key) ? `Key${key.toUpperCase()}` : key;
}

/** Input types that take typed text: their keys are the text's, not the editor's. */
const TEXT_INPUT_TYPES = new Set(['text', 'search', 'url', 'email', 'password', 'number', 'tel', 'date', 'time', 'datetime-local', 'month', 'week']);

/**
 * Whether a key press is for the editor (shortcuts, fly keys) rather than for what has focus: not
 * while typing in a field, and not while a dialog is open (Esc closes it, Enter answers it, and
 * letters must not fly the camera behind it).
 */
export function keyIsForEditor(target: EventTarget | null): boolean {
  if (!(target instanceof Element)) return true;
  if (target instanceof HTMLInputElement && TEXT_INPUT_TYPES.has(target.type)) return false;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return false;
  if (target instanceof HTMLElement && target.isContentEditable) return false;
  return target.closest('dialog') === null && target.ownerDocument.querySelector('dialog[open]') === null;
}
