/**
 * Which unhandled promise rejections come from the splat viewer library. Its parsers throw inside
 * detached promise chains, so a broken scene surfaces only as an unhandled rejection while its
 * load never settles; the viewport treats such a rejection as the load's failure. Any other
 * rejection in the page during a load (an API call, the app's own code) must not be blamed on the
 * scene, nor hidden from the console.
 *
 * The library's code is recognisable in a stack: it is its own chunk in the build
 * (electron.vite.config.ts names it), and its own module in development.
 */
export const VIEWER_LIBRARY_MARK = 'gaussian-splats-3d';

export function isViewerLibraryRejection(reason: unknown): boolean {
  if (reason instanceof Error) return (reason.stack ?? '').includes(VIEWER_LIBRARY_MARK);
  // An API error crosses the Electron bridge as plain data ({ code, message }): the app's, never the library's.
  if (typeof reason === 'object' && reason !== null && typeof (reason as { code?: unknown }).code === 'string') return false;
  // A bare value has no stack to tell; the app rejects only with errors, so it is the library's.
  return true;
}
