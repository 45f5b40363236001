import { describe, expect, it } from 'vitest';
import { nodeKernelHelpers } from './kernel-threads.ts';

/**
 * A module with the three kernel exports on shared memory: `forward` loads from the address it
 * is given (out of bounds traps), `backward` stores 7 there, `adam` does nothing.
 */
async function kernelModule(): Promise<{ module: WebAssembly.Module; memory: WebAssembly.Memory }> {
  const wabt = await (await import('wabt')).default();
  const wat = `(module
    (import "env" "memory" (memory 1 1 shared))
    (func (export "forward") (param f64) (drop (i32.load (i32.trunc_f64_u (local.get 0)))))
    (func (export "backward") (param f64) (i32.store (i32.trunc_f64_u (local.get 0)) (i32.const 7)))
    (func (export "adam")))`;
  const parsed = wabt.parseWat('kernels.wat', wat, { threads: true });
  const module = await WebAssembly.compile(new Uint8Array(parsed.toBinary({}).buffer));
  parsed.destroy();
  return { module, memory: new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }) };
}

describe('kernel helper threads', () => {
  it("runs a kernel on a helper, and when one fails says the helper's own reason", async () => {
    const { module, memory } = await kernelModule();
    const helpers = await nodeKernelHelpers(1)(module, memory);
    try {
      expect(helpers.count).toBe(1);
      helpers.start(0, 'backward', [64]);
      helpers.waitAll();
      expect(new Int32Array(memory.buffer)[16]).toBe(7);

      helpers.start(0, 'forward', [10 * 65536]);
      expect(() => helpers.waitAll()).toThrow(expect.objectContaining({ code: 'INTERNAL', message: expect.stringMatching(/failed on a helper thread: memory access out of bounds/) }));
      // The helper keeps serving after a failed call.
      helpers.start(0, 'forward', [0]);
      helpers.waitAll();
    } finally {
      helpers.close();
    }
  });
});
