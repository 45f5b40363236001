/** Loads the WGSL files of native-shaders/ from disk (Node hosts). */
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from '../../common/paths.ts';
import { SagaError } from '../../contract/errors.ts';

const SHADER_DIR = pathToFileURL(`${PROJECT_ROOT}/native-shaders/`);

export async function loadShaderFromDisk(name: string): Promise<string> {
  const url = new URL(name, SHADER_DIR);
  try {
    return await readFile(url, 'utf8');
  } catch (e) {
    throw new SagaError('INTERNAL', `Shader ${name} is missing from ${SHADER_DIR.pathname}; reinstall the app.`, { name }, { cause: e });
  }
}
