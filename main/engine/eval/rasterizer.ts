/**
 * The one place synth and eval reach the renderer. Both need the image and, more often, every
 * blending weight of the front-to-back blend (label maps, lifting a 2D mask to Gaussians, the
 * rendered mask of a selection). Today this is the CPU reference renderer; a GPU path can replace it
 * by implementing this interface.
 */
import type { Camera } from '../../scene/camera.ts';
import type { GaussianScene } from '../../scene/gaussians.ts';
import { forEachContribution, renderReference } from '../raster/reference.ts';

export interface BlendRasterizer {
  /** RGB (H*W*3, 0..1, composited over `background`) and alpha (H*W) at the camera's size. */
  renderImage(scene: GaussianScene, camera: Camera, background: [number, number, number]): { color: Float32Array; alpha: Float32Array };
  /**
   * Calls `visit` for every (pixel, Gaussian, weight = alpha * T) of the blend at the camera's size.
   * Pixels arrive in row-major order and each pixel's contributions are contiguous, so a visitor may
   * accumulate per pixel and flush when the pixel index changes.
   */
  forEachContribution(scene: GaussianScene, camera: Camera, visit: (pixel: number, gaussian: number, weight: number) => void): void;
}

export const referenceRasterizer: BlendRasterizer = {
  renderImage(scene, camera, background) {
    const out = renderReference(scene, camera, { width: camera.width, height: camera.height, background });
    return { color: out.color, alpha: out.alpha };
  },
  forEachContribution(scene, camera, visit) {
    forEachContribution(scene, camera, { width: camera.width, height: camera.height }, visit);
  },
};

interface Recording {
  pixels: Uint32Array;
  gaussians: Uint32Array;
  weights: Float32Array;
  bytes: number;
}

function cameraKey(c: Camera): string {
  return JSON.stringify([c.name, c.width, c.height, c.fx, c.fy, c.cx, c.cy, c.rotation, c.translation]);
}

/**
 * Wraps a rasterizer so that each view's blend is computed once per scene and then replayed from
 * typed arrays (12 bytes per contribution). Eval walks the same views again and again (lifting a
 * prompt view, scoring every held-out view for each method and prompt form); replaying skips
 * projection, sorting and the Gaussian falloff, which is most of the reference renderer's time.
 * Least recently used views are dropped beyond `maxBytes`.
 */
export function recordingRasterizer(base: BlendRasterizer, maxBytes = 512 * 1024 * 1024): BlendRasterizer {
  const byScene = new WeakMap<GaussianScene, Map<string, Recording>>();
  let total = 0;
  const all: { scene: GaussianScene; key: string; rec: Recording }[] = [];
  const record = (scene: GaussianScene, camera: Camera): Recording => {
    let cap = 1 << 16;
    let pixels = new Uint32Array(cap), gaussians = new Uint32Array(cap), weights = new Float32Array(cap);
    let n = 0;
    base.forEachContribution(scene, camera, (pixel, g, w) => {
      if (n === cap) {
        cap *= 2;
        const p = new Uint32Array(cap); p.set(pixels); pixels = p;
        const q = new Uint32Array(cap); q.set(gaussians); gaussians = q;
        const r = new Float32Array(cap); r.set(weights); weights = r;
      }
      pixels[n] = pixel; gaussians[n] = g; weights[n] = w;
      n++;
    });
    return { pixels: pixels.slice(0, n), gaussians: gaussians.slice(0, n), weights: weights.slice(0, n), bytes: 12 * n };
  };
  return {
    renderImage: (scene, camera, background) => base.renderImage(scene, camera, background),
    forEachContribution(scene, camera, visit) {
      let views = byScene.get(scene);
      if (!views) byScene.set(scene, (views = new Map()));
      const key = cameraKey(camera);
      let rec = views.get(key);
      if (rec) {
        const i = all.findIndex((e) => e.rec === rec);
        if (i >= 0) all.push(...all.splice(i, 1));
      } else {
        rec = record(scene, camera);
        views.set(key, rec);
        all.push({ scene, key, rec });
        total += rec.bytes;
        while (total > maxBytes && all.length > 1) {
          const old = all.shift()!;
          byScene.get(old.scene)?.delete(old.key);
          total -= old.rec.bytes;
        }
      }
      const { pixels, gaussians, weights } = rec;
      for (let i = 0; i < pixels.length; i++) visit(pixels[i]!, gaussians[i]!, weights[i]!);
    },
  };
}
