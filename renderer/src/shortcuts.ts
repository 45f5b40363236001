/**
 * Every keyboard shortcut of the editor in one table, and the rules for which key presses are the
 * editor's at all (camera movement keys live in viewport/fly.ts because they act while held, not
 * on press; the viewport asks keyIsForEditor too). The table drives the window's key handling, the
 * help panel, the tooltips, the Electron menu (main/app/menu.ts builds its items from `menu`) and
 * the README's key table (keyTableMarkdown, held to the README by shortcuts.test.ts).
 */
import type { AppInfo } from '../../main/contract/api.ts';
import { FLY_KEYS, type FlyDirection } from './viewport/fly.ts';

export type ShortcutAction =
  | 'frame-scene'
  | 'toggle-views'
  | 'flip-up'
  | 'toggle-features'
  | 'tool-click'
  | 'tool-scribble'
  | 'tool-box'
  | 'tool-mask'
  | 'tool-sam'
  | 'undo'
  | 'redo'
  | 'delete-selected'
  | 'invert-selection'
  | 'clear-selection'
  | 'new-layer'
  | 'save-scene'
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
  { keys: 'Left drag', label: 'Orbit around the target (Click tool)' },
  { keys: 'Right drag', label: 'Pan' },
  { keys: 'Wheel', label: 'Zoom' },
  { keys: flyKeys('forward', 'left', 'back', 'right'), label: 'Fly forward, left, back, right' },
  { keys: flyKeys('down', 'up'), label: 'Fly down, up' },
  { keys: 'Shift', label: 'Fly four times faster (held)' },
  { keys: 'Click a camera', label: 'Jump to that training view' },
  { keys: 'Click', label: 'Select the object under the pointer (with any tool)' },
  { keys: 'Alt+click', label: 'Leave out what is under the pointer: a negative point added to the last click' },
  { keys: 'Left drag with Scribble, Box or Mask', label: 'Draw the prompt: a stroke over the object, a box around it, or its outline' },
  { keys: 'Shift+click or drag', label: 'Add to the selection' },
  { keys: 'Ctrl+click or drag', label: 'Take away from the selection' },
  { keys: 'Ctrl+Shift+click or drag', label: 'Keep only what both select' },
];

/** Where the Electron menu shows a command (main/app/menu.ts). */
export interface MenuPlace {
  menu: 'File' | 'Edit' | 'View' | 'Tools';
  label: string;
}

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
  /** The menu item that sends this key (one binding per action carries it). */
  menu?: MenuPlace;
}

/**
 * Modifiers must match exactly: Ctrl+Shift+O is not Ctrl+O, and Shift+F is not F. A browser keeps
 * Ctrl+N for a new window and never lets the page see it, so there a new project is Ctrl+Alt+N
 * (as VS Code for the Web does for its new file). Ctrl+Y and Ctrl+Shift+Z both redo, as in most
 * editors on Windows and Linux. The order is the help panel's and the menus'.
 */
export const SHORTCUTS: readonly Shortcut[] = [
  { code: 'KeyO', mod: true, action: 'open-scene', label: 'Open a scene file', menu: { menu: 'File', label: 'Open Scene…' } },
  { code: 'KeyO', mod: true, shift: true, action: 'open-project', label: 'Open a project', menu: { menu: 'File', label: 'Open Project…' } },
  { code: 'KeyN', mod: true, hosts: ['electron', 'memory'], action: 'new-project', label: 'New project from a scene', menu: { menu: 'File', label: 'New Project from…' } },
  { code: 'KeyN', mod: true, alt: true, hosts: ['browser'], action: 'new-project', label: 'New project from a scene' },
  { code: 'KeyS', mod: true, action: 'save-scene', label: 'Save the edited scene (or a layer) as a new file', menu: { menu: 'File', label: 'Save Edited Scene…' } },
  { code: 'KeyZ', mod: true, action: 'undo', label: 'Undo the last edit', menu: { menu: 'Edit', label: 'Undo' } },
  { code: 'KeyZ', mod: true, shift: true, action: 'redo', label: 'Redo', menu: { menu: 'Edit', label: 'Redo' } },
  { code: 'KeyY', mod: true, action: 'redo', label: 'Redo' },
  { code: 'Delete', action: 'delete-selected', label: 'Delete the selected Gaussians', menu: { menu: 'Edit', label: 'Delete Selected' } },
  { code: 'KeyI', mod: true, action: 'invert-selection', label: 'Invert the selection', menu: { menu: 'Edit', label: 'Invert Selection' } },
  { code: 'KeyA', alt: true, action: 'clear-selection', label: 'Clear the selection', menu: { menu: 'Edit', label: 'Clear Selection' } },
  { code: 'KeyL', action: 'new-layer', label: 'New layer from the selection', menu: { menu: 'Edit', label: 'New Layer from Selection' } },
  { code: 'Digit1', action: 'tool-click', label: 'Click tool: a click selects an object, a drag orbits', menu: { menu: 'Tools', label: 'Click' } },
  { code: 'Digit2', action: 'tool-scribble', label: 'Scribble tool: drag a stroke over an object', menu: { menu: 'Tools', label: 'Scribble' } },
  { code: 'Digit3', action: 'tool-box', label: 'Box tool: drag a box around an object', menu: { menu: 'Tools', label: 'Box' } },
  { code: 'Digit4', action: 'tool-mask', label: 'Mask tool: draw the outline of an object', menu: { menu: 'Tools', label: 'Mask (Lasso)' } },
  { code: 'Digit5', action: 'tool-sam', label: 'SAM tool: SAM outlines what a click or a dragged box points at (views prepared with SAM)', menu: { menu: 'Tools', label: 'SAM' } },
  { code: 'KeyF', action: 'frame-scene', label: 'Frame the scene', menu: { menu: 'View', label: 'Frame Scene' } },
  { code: 'KeyC', action: 'toggle-views', label: 'Show or hide training cameras', menu: { menu: 'View', label: 'Toggle Cameras' } },
  { code: 'KeyU', action: 'flip-up', label: 'Turn the scene upside down (remembered with the project)', menu: { menu: 'View', label: 'Flip Upside Down' } },
  { code: 'KeyT', action: 'toggle-features', label: 'Colour splats by their trained features, or back to their own colours', menu: { menu: 'View', label: 'Toggle Features' } },
  { code: 'KeyH', action: 'toggle-help', label: 'Show or hide this help' },
  { code: 'Escape', action: 'dismiss-error', label: 'Dismiss the error or close this help' },
];

/** The shortcuts that work in `host`. */
export function shortcutsFor(host: Host): Shortcut[] {
  return SHORTCUTS.filter((s) => !s.hosts || s.hosts.includes(host));
}

/** "Ctrl+Shift+O", "F", "1", "Esc": how the help panel, tooltips and the README write a shortcut. */
export function keysLabel(s: Pick<Shortcut, 'code' | 'mod' | 'shift' | 'alt'>): string {
  const key = s.code.startsWith('Key') ? s.code.slice(3) : s.code.startsWith('Digit') ? s.code.slice(5) : s.code === 'Escape' ? 'Esc' : s.code;
  return `${s.mod ? 'Ctrl+' : ''}${s.alt ? 'Alt+' : ''}${s.shift ? 'Shift+' : ''}${key}`;
}

/** The keys of `action` in `host`, for tooltips ("Open a project (Ctrl+Shift+O)"); several are joined ("Ctrl+Shift+Z or Ctrl+Y"). */
export function keysOf(action: ShortcutAction, host: Host): string {
  return shortcutsFor(host)
    .filter((x) => x.action === action)
    .map(keysLabel)
    .join(' or ');
}

/** One row per action in `host` (its keys joined), in table order: what the help panel lists. */
export function helpRows(host: Host): { action: ShortcutAction; keys: string; label: string }[] {
  const rows: { action: ShortcutAction; keys: string; label: string }[] = [];
  for (const s of shortcutsFor(host)) {
    if (!rows.some((r) => r.action === s.action)) rows.push({ action: s.action, keys: keysOf(s.action, host), label: s.label });
  }
  return rows;
}

/**
 * The README's key table ("Using the editor"), made from the same rows as the help panel: the
 * desktop keys, with the browser's where they differ. shortcuts.test.ts holds the README to it.
 */
export function keyTableMarkdown(): string {
  const browser = helpRows('browser');
  const lines = ['| Keys and mouse | Action |', '| --- | --- |'];
  for (const c of VIEWPORT_CONTROLS) lines.push(`| ${c.keys} | ${c.label} |`);
  for (const row of helpRows('electron')) {
    const inBrowser = browser.find((b) => b.action === row.action)?.keys;
    const keys = inBrowser && inBrowser !== row.keys ? `${row.keys} (${inBrowser} in the browser)` : row.keys;
    // The help panel's own wording ("this help") reads as "the help panel" in the README.
    lines.push(`| ${keys} | ${row.label.replace('this help', 'the help panel')} |`);
  }
  return lines.join('\n');
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
  if (/^[a-z]$/i.test(key)) return `Key${key.toUpperCase()}`;
  if (/^[0-9]$/.test(key)) return `Digit${key}`;
  return key;
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
