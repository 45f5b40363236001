/**
 * The backend process in a worker thread, for tests of main/host/backend-process.ts without
 * Electron: the thread's parentPort stands in for Electron's process.parentPort (messages carry
 * { data, ports } as Electron's do).
 */
import { parentPort } from 'node:worker_threads';
import { runBackendProcess, type ParentMessage } from '../backend-process.ts';

if (!parentPort) throw new Error('backend-process-thread.ts must run as a worker thread');
const port = parentPort;
runBackendProcess({ on: (_event, listener) => port.on('message', (m: ParentMessage) => listener(m)) });
