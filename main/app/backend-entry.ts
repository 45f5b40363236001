/**
 * Entry of Electron's utility process that runs the backend (main/host/backend-process.ts); main
 * starts it with utilityProcess.fork (backend-link.ts). Kept to the one line Electron needs.
 */
import { runBackendProcess } from '../host/backend-process.ts';

runBackendProcess(process.parentPort);
