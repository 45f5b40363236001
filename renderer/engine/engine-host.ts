/**
 * The engine as the Electron engine window runs it: serve-engine.ts on Chromium's own WebGPU
 * (navigator.gpu), answering EngineMethods over a MessagePort, with the WGSL shaders it is given.
 * The WebAssembly training kernels need Node (wabt), so training here uses the WGSL gathers.
 */
import type { ShaderSource } from '../../main/engine/raster/rasterizer.ts';
import { serveEngine } from '../../main/engine/serve-engine.ts';
import { messagePortTransport, type MessagePortLike } from '../../main/contract/transports/message-port.ts';

export function serveEngineInPage(port: MessagePortLike, loadShader: ShaderSource): void {
  if (!('gpu' in navigator)) throw new Error('navigator.gpu is missing: this page needs WebGPU');
  serveEngine(messagePortTransport(port, { transferBytes: true }), {
    gpu: async () => navigator.gpu,
    loadShader,
    log: (m) => console.error(m),
  });
}
