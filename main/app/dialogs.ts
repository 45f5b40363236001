/**
 * Native open and save dialogs. The backend asks for paths through these (its `openDialog` option);
 * in browser mode there are none and the UI asks for a typed path instead.
 */
import { dialog, type BrowserWindow, type FileFilter, type OpenDialogOptions, type SaveDialogOptions } from 'electron';

export type OpenKind = 'scene' | 'project' | 'folder';
export type SaveKind = 'scene' | 'cameras';

const SCENE_FILTERS: FileFilter[] = [
  { name: 'Gaussian splat scenes', extensions: ['ply', 'splat', 'spz'] },
  { name: 'All files', extensions: ['*'] },
];

export async function openPathDialog(window: BrowserWindow | null, kind: OpenKind): Promise<string | null> {
  const options: OpenDialogOptions =
    kind === 'scene'
      ? { title: 'Open a scene', properties: ['openFile'], filters: SCENE_FILTERS }
      : kind === 'project'
        ? { title: 'Open a project folder', properties: ['openDirectory'] }
        : { title: 'Choose a folder', properties: ['openDirectory', 'createDirectory'] };
  const res = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
  return res.canceled ? null : (res.filePaths[0] ?? null);
}

/** Where to write a new file; the caller writes to a temporary name and renames, never in place. */
export async function savePathDialog(window: BrowserWindow | null, kind: SaveKind, defaultPath?: string): Promise<string | null> {
  const options: SaveDialogOptions =
    kind === 'scene'
      ? { title: 'Save the edited scene', filters: SCENE_FILTERS, properties: ['showOverwriteConfirmation', 'createDirectory'], ...(defaultPath ? { defaultPath } : {}) }
      : { title: 'Save cameras', filters: [{ name: 'cameras.json', extensions: ['json'] }], properties: ['showOverwriteConfirmation'], ...(defaultPath ? { defaultPath } : {}) };
  const res = window ? await dialog.showSaveDialog(window, options) : await dialog.showSaveDialog(options);
  return res.canceled || !res.filePath ? null : res.filePath;
}
