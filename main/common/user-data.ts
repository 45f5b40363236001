/**
 * The per-user folders shared by every host of the app: the CLI, browser mode and the desktop app
 * must agree, or a SAM model downloaded by `saga-studio prepare --download` is missing in the
 * app. (Electron's own userData folder, ~/.config/<name> on Linux, is not used for models.)
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where per-user data lives: $XDG_DATA_HOME (or ~/.local/share), ~/Library/Application Support, or %LOCALAPPDATA%, then saga-studio. */
export function defaultUserDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  const base =
    platform === 'darwin' ? join(homedir(), 'Library', 'Application Support')
    : platform === 'win32' ? env.LOCALAPPDATA || env.APPDATA || join(homedir(), 'AppData', 'Local')
    : env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(base, 'saga-studio');
}

/** Where SAM models live for every host: $SAGA_MODELS_DIR, else <user data>/models. */
export function defaultModelsDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  return env.SAGA_MODELS_DIR || join(defaultUserDataDir(env, platform), 'models');
}
