/**
 * Electron main: one instance, one editor window with secure defaults, the renderer and scene
 * bytes served from app://saga/ with cross-origin isolation, native dialogs, the menu. The backend
 * (main/host/backend.ts) runs in a utility process (backend-entry.ts) and answers the window over
 * a MessagePort; main keeps windows, menus and dialogs. This file only wires things up.
 * Cannot run on machines without the Electron binary (see README): keep it thin.
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, MessageChannelMain, protocol, session, shell, utilityProcess, type IpcMainEvent, type MessagePortMain } from 'electron';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { APP_ORIGIN } from './app-url.ts';
import { startBackend, type BackendLink } from './backend-link.ts';
import { refusePortMessage } from './ipc-guard.ts';
import { PORT_CHANNEL } from './channels.ts';
import { openPathDialog } from './dialogs.ts';
import { buildMenuTemplate, type ShortcutKey } from './menu.ts';
import { createAppProtocolHandler } from './protocol.ts';

const here = dirname(fileURLToPath(import.meta.url));
// out/main/index.js -> out/renderer, out/preload
const RENDERER_DIR = join(here, '../renderer');
const PRELOAD = join(here, '../preload/index.cjs');
const BACKEND_ENTRY = join(here, 'backend-entry.js');

// Must run before 'ready': a standard, secure scheme gets an origin, fetch and workers.
protocol.registerSchemesAsPrivileged([
  { scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true } },
]);

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  let window: BrowserWindow | null = null;
  let backend: BackendLink<MessagePortMain> | null = null;

  app.on('second-instance', (_event, argv) => {
    if (!window) return;
    if (window.isMinimized()) window.restore();
    window.focus();
    // `saga-studio-app <scene>` while the app runs: open it here (the page opens initialOpen on load).
    const path = argv.slice(app.isPackaged ? 1 : 2).find((a) => !a.startsWith('-'));
    if (path && backend) {
      backend.setInitialPath(path);
      window.webContents.reload();
    }
  });

  app.on('window-all-closed', () => app.quit());
  app.on('will-quit', () => backend?.close());

  // No window may navigate away or open another window: the app is one page.
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-attach-webview', (e) => e.preventDefault());
    contents.on('will-navigate', (e, url) => {
      if (!url.startsWith(`${APP_ORIGIN}/`)) e.preventDefault();
    });
    contents.setWindowOpenHandler(({ url }) => {
      // Links to documentation open in the user's browser, never inside the app.
      if (url.startsWith('https://')) void shell.openExternal(url);
      return { action: 'deny' };
    });
  });

  void app.whenReady().then(() => {
    const sceneArg = process.argv.slice(app.isPackaged ? 1 : 2).find((a) => !a.startsWith('-'));
    backend = startBackend(
      {
        userDataDir: app.getPath('userData'),
        openDialog: (kind) => openPathDialog(window, kind),
        ...(sceneArg ? { openPath: sceneArg } : {}),
      },
      utilityProcess.fork(BACKEND_ENTRY, [], { serviceName: 'SAGA Studio backend', stdio: 'inherit' }),
      () => new MessageChannelMain(),
    );
    const link = backend;
    link.onExit((code) => {
      dialog.showErrorBox('SAGA Studio', `The app's backend stopped unexpectedly (exit code ${code}). Your edits are saved as you make them; restart the app to go on.`);
      app.quit();
    });

    // The editor needs no camera, microphone, notifications or the like: refuse every request.
    session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
    protocol.handle('app', createAppProtocolHandler(RENDERER_DIR, (id) => link.blob(id)));

    ipcMain.on(PORT_CHANNEL, (event: IpcMainEvent) => {
      // Only our own window's top frame, showing our page, may connect.
      const refused = refusePortMessage(event, window ? [window.webContents] : []);
      if (refused) {
        console.error(`saga-studio: refused a port from a window: ${refused}`);
        return;
      }
      link.attach(event.ports[0]!);
    });

    const sendKey = (key: ShortcutKey) => {
      if (!window) return;
      window.webContents.sendInputEvent({ type: 'keyDown', keyCode: key.keyCode, modifiers: key.modifiers });
      window.webContents.sendInputEvent({ type: 'keyUp', keyCode: key.keyCode, modifiers: key.modifiers });
    };
    const refreshMenu = async () => {
      // A damaged recent-projects list must not cost the user the whole menu.
      const recent = await link.recent().catch((e: unknown) => {
        console.error('saga-studio: could not read the recent projects list:', e);
        return [];
      });
      Menu.setApplicationMenu(
        Menu.buildFromTemplate(
          buildMenuTemplate(
            {
              sendKey,
              openRecent: (dir) => {
                // The page opens AppInfo.initialOpen when it loads: reuse that path for Recent.
                link.setInitialOpen({ kind: 'project', path: dir });
                window?.webContents.reload();
              },
              quit: () => app.quit(),
            },
            recent,
            process.platform === 'darwin',
          ),
        ),
      );
    };
    link.onRecentChanged(() => void refreshMenu());
    void refreshMenu();

    window = new BrowserWindow({
      width: 1400,
      height: 900,
      title: 'SAGA Studio',
      show: false,
      webPreferences: {
        preload: PRELOAD,
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        webSecurity: true,
        spellcheck: false,
      },
    });
    window.once('ready-to-show', () => window?.show());
    window.on('closed', () => {
      window = null;
    });
    void window.loadURL(`${APP_ORIGIN}/index.html`);
  });
}
