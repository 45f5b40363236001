/** IPC channel names shared by Electron main and preload (no imports: preload bundles this). */
export const PORT_CHANNEL = 'saga:port';
