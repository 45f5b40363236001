/**
 * Browser entry for bench/splat-colors.bench.ts: the app's viewport (Splats3dViewport) on a bare
 * page, a scene loaded from the bench server, and timed calls of Viewport.setSplatColors, each
 * followed by a one-pixel read that waits until the GPU has the upload. Exposes window.sagaSplatColors.
 */
import { createViewport } from '../../renderer/src/viewport/create.ts';
import type { Viewport } from '../../renderer/src/viewport/viewport.ts';

type Target = { first: number } | { indices: Uint32Array };

let viewport: Viewport | undefined;

async function load(url: string): Promise<number> {
  const container = document.getElementById('host')!;
  const canvas = container.querySelector('canvas')!;
  viewport = createViewport({ container, canvas, keyTarget: window });
  const { splatCount } = await viewport.load({ url, format: 'ply', up: [0, -1, 0] });
  return splatCount;
}

/** Blocks until the GL queue is done (the same 1-pixel read the viewport uses for its first frame). */
function waitForGpu(): void {
  const gl = document.querySelector('canvas')!.getContext('webgl2')!;
  gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(4));
}

/** `count` distinct splat indices out of `n`, ascending (a seeded LCG: the same set every run). */
function scattered(count: number, n: number): Uint32Array {
  const picked = new Uint8Array(n);
  let s = 12345;
  let left = count;
  while (left > 0) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const i = s % n;
    if (!picked[i]) {
      picked[i] = 1;
      left--;
    }
  }
  const out = new Uint32Array(count);
  for (let i = 0, k = 0; i < n; i++) if (picked[i]) out[k++] = i;
  return out;
}

/**
 * Milliseconds of `runs` recolours of `count` splats laid out as `pattern`: the call alone (packing
 * and upload calls, what the page waits for) and the call plus the GPU finishing the upload.
 */
function measure(pattern: 'all' | 'range' | 'scattered', count: number, runs: number): { call: number[]; total: number[] } {
  const v = viewport!;
  const n = v.splatCount();
  const own = v.sceneColors();
  const target: Target = pattern === 'scattered' ? { indices: scattered(count, n) } : { first: pattern === 'all' ? 0 : Math.floor((n - count) / 2) };
  // Two colour sets to alternate between, so every call really changes the splats.
  const tinted = new Uint8Array(count * 4);
  const original = new Uint8Array(count * 4);
  for (let k = 0; k < count; k++) {
    const i = 'indices' in target ? target.indices[k]! : target.first + k;
    original.set(own.subarray(i * 4, i * 4 + 4), k * 4);
    tinted.set([255, 64, 32, own[i * 4 + 3]!], k * 4);
  }
  const call: number[] = [];
  const total: number[] = [];
  waitForGpu();
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    v.setSplatColors(r % 2 === 0 ? tinted : original, target);
    const t1 = performance.now();
    waitForGpu();
    const t2 = performance.now();
    call.push(t1 - t0);
    total.push(t2 - t0);
  }
  return { call, total };
}

(globalThis as unknown as { sagaSplatColors: unknown }).sagaSplatColors = { load, measure };
