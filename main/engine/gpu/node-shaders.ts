/** Loads the WGSL files of native-shaders/ from disk (Node hosts). */
import { readFile } from 'node:fs/promises';
import { SagaError } from '../../contract/errors.ts';

const SHADER_DIR = new URL('../../../native-shaders/', import.meta.url);

export async function loadShaderFromDisk(name: string): Promise<string> {
  const url = new URL(name, SHADER_DIR);
  try {
    return await readFile(url, 'utf8');
  } catch (e) {
    throw new SagaError('INTERNAL', `Shader ${name} is missing from ${SHADER_DIR.pathname}; reinstall the app.`, { name }, { cause: e });
  }
}
