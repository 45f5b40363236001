/**
 * Where the project's own files are (native-shaders/, out/renderer/, bench/), for code that reads
 * them at run time. This module sits two folders below the root both as source
 * (main/common/paths.ts) and bundled (out/cli/*.js, out/main/*.js), so one relative URL serves
 * both; modules elsewhere in the tree must not compute the root from their own location, which
 * changes when they are bundled.
 */
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url)).replace(/\/$/, '');
