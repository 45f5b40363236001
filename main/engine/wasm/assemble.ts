/**
 * Our WebAssembly kernels are hand-written text (native-shaders/*.wat), assembled at start-up with
 * wabt: one place that turns a .wat file into a compiled module.
 */
import { SagaError } from '../../contract/errors.ts';
import type { ShaderSource } from '../raster/rasterizer.ts';

export async function compileWat(loadShader: ShaderSource, name: string, features: { threads?: boolean } = {}): Promise<WebAssembly.Module> {
  const source = await loadShader(name);
  const wabt = await (await import('wabt')).default();
  const parsed = wabt.parseWat(name, source, { simd: true, threads: features.threads ?? false });
  let binary: Uint8Array<ArrayBuffer>;
  try {
    binary = new Uint8Array(parsed.toBinary({}).buffer);
  } finally {
    parsed.destroy();
  }
  try {
    return await WebAssembly.compile(binary);
  } catch (e) {
    throw new SagaError('INTERNAL', `This runtime cannot run the WebAssembly SIMD kernels of ${name}.`, { name }, { cause: e });
  }
}
