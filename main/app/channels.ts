/** IPC channel names shared by Electron main and preload (no imports: preload bundles this). */
export const PORT_CHANNEL = 'saga:port';
/** document.documentElement.dataset key where preload leaves a dropped file's path (Electron only). */
export const DROPPED_PATH_KEY = 'sagaDroppedPath';
