/**
 * Rendered features at a few pixels of any camera, on the CPU: what a click, a scribble or a mask
 * prompt needs (the paper's queries are the rendered features at the prompt's pixels). Rendering a
 * whole 32-channel map costs about a second at 300k Gaussians on a CPU adapter; a click needs one
 * pixel. The blend is exactly the reference rasterizer's (projection, tiles, order, alpha cut-off,
 * early stop), restricted to the Gaussians whose tiles hold a requested pixel.
 *
 * Most Gaussians are rejected before the full projection with a conservative footprint bound from
 * their largest scale (kept per scene), so a click at 1M Gaussians projects only the few that can
 * touch its tile.
 */
import type { Camera } from '../../scene/camera.ts';
import type { GaussianScene } from '../../scene/gaussians.ts';
import { blendPixel, float32Depth, LOW_PASS, NEAR_PLANE, projectGaussian, TILE_SIZE, type ProjectedGaussian } from '../raster/reference.ts';

export interface ProbeResult {
  /** n x dim: the blended features at each requested pixel. */
  features: Float32Array;
  /** Per pixel: 1 - final transmittance (how much of it the scene covers). */
  alpha: Float32Array;
  /** Per pixel: the Gaussians blended into it and their weights (front to back), when asked for. */
  contributions?: { gaussians: Uint32Array; weights: Float32Array }[];
}

export class PixelProbe {
  /** Largest standard deviation of each Gaussian (for the conservative footprint bound). */
  private readonly sigmaMax: Float32Array;

  constructor(readonly scene: GaussianScene) {
    const n = scene.count;
    this.sigmaMax = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      this.sigmaMax[i] = Math.exp(Math.max(scene.scales[3 * i]!, scene.scales[3 * i + 1]!, scene.scales[3 * i + 2]!));
    }
  }

  /**
   * Blended `values` (count x dim, e.g. trained features) at pixels `pixels` (y * width + x) of
   * `camera` at its own size, sampled at pixel centres.
   */
  render(camera: Camera, pixels: ArrayLike<number>, values: Float32Array, dim: number, options: { contributions?: boolean } = {}): ProbeResult {
    const { scene } = this;
    const { width, height, fx, fy, cx, cy } = camera;
    const tilesX = Math.ceil(width / TILE_SIZE);
    const n = pixels.length;
    // Requested pixels per tile, and the box of tiles that hold any.
    const byTile = new Map<number, number[]>();
    let tx0 = Infinity, ty0 = Infinity, tx1 = -Infinity, ty1 = -Infinity;
    for (let j = 0; j < n; j++) {
      const p = pixels[j]!;
      const tx = Math.floor((p % width) / TILE_SIZE);
      const ty = Math.floor(Math.floor(p / width) / TILE_SIZE);
      const tile = ty * tilesX + tx;
      let list = byTile.get(tile);
      if (!list) byTile.set(tile, (list = []));
      list.push(j);
      tx0 = Math.min(tx0, tx);
      ty0 = Math.min(ty0, ty);
      tx1 = Math.max(tx1, tx);
      ty1 = Math.max(ty1, ty);
    }
    // Pixel box the requested tiles span: a Gaussian must reach it to be binned to one of them.
    const bx0 = tx0 * TILE_SIZE, by0 = ty0 * TILE_SIZE, bx1 = (tx1 + 1) * TILE_SIZE, by1 = (ty1 + 1) * TILE_SIZE;
    const R = camera.rotation;
    const t = camera.translation;
    const tanX = (0.5 * width) / fx;
    const tanY = (0.5 * height) / fy;
    const limX = Math.max((width - cx) / fx, cx / fx) + 0.3 * tanX;
    const limY = Math.max((height - cy) / fy, cy / fy) + 0.3 * tanY;
    const fMax = Math.max(fx, fy);
    // Gaussians that touch a requested tile, by slot: projection, Gaussian index, depth key.
    const perPixel: number[][] = Array.from({ length: n }, () => []);
    const hitProjected: ProjectedGaussian[] = [];
    const hitGaussian: number[] = [];
    const hitKey: number[] = [];
    for (let i = 0; i < scene.count; i++) {
      const px = scene.positions[3 * i]!, py = scene.positions[3 * i + 1]!, pz = scene.positions[3 * i + 2]!;
      const z = R[6]! * px + R[7]! * py + R[8]! * pz + t[2]!;
      if (!(z > NEAR_PLANE)) continue;
      const x = R[0]! * px + R[1]! * py + R[2]! * pz + t[0]!;
      const y = R[3]! * px + R[4]! * py + R[5]! * pz + t[1]!;
      // The projection's Jacobian J (clamped as the reference clamps it) has spectral norm at most
      // max(fx, fy) / z * sqrt(1 + (x/z)^2 + (y/z)^2), so the 2D covariance's largest eigenvalue is at
      // most (that * sigma_max)^2 + the low-pass term; the reference's radius uses an eigenvalue
      // estimate at most sqrt(0.1) above the true one.
      const ux = Math.min(limX, Math.abs(x / z));
      const uy = Math.min(limY, Math.abs(y / z));
      const s = (this.sigmaMax[i]! * fMax) / z;
      const r = Math.ceil(3 * Math.sqrt(s * s * (1 + ux * ux + uy * uy) + LOW_PASS + 0.32)) + 1;
      const u = (fx * x) / z + cx;
      const v = (fy * y) / z + cy;
      if (u + r < bx0 || u - r > bx1 || v + r < by0 || v - r > by1) continue;
      const p = projectGaussian(scene, i, camera);
      if (!p) continue;
      const slot = hitGaussian.length;
      let hit = false;
      for (let ty = Math.max(p.tileMinY, ty0); ty < Math.min(p.tileMaxY, ty1 + 1); ty++) {
        for (let tx = Math.max(p.tileMinX, tx0); tx < Math.min(p.tileMaxX, tx1 + 1); tx++) {
          const list = byTile.get(ty * tilesX + tx);
          if (!list) continue;
          for (const j of list) perPixel[j]!.push(slot);
          hit = true;
        }
      }
      if (hit) {
        hitProjected.push(p);
        hitGaussian.push(i);
        hitKey.push(float32Depth(scene, i, camera));
      }
    }
    const features = new Float32Array(n * dim);
    const alpha = new Float32Array(n);
    const contributions: { gaussians: Uint32Array; weights: Float32Array }[] | undefined = options.contributions ? [] : undefined;
    const acc = new Float64Array(dim);
    for (let j = 0; j < n; j++) {
      const list = perPixel[j]!;
      // Front to back, ties by Gaussian index: the reference's order.
      list.sort((a, b) => hitKey[a]! - hitKey[b]! || hitGaussian[a]! - hitGaussian[b]!);
      const p = pixels[j]!;
      acc.fill(0);
      const gs: number[] = [];
      const ws: number[] = [];
      const T = blendPixel(list, hitProjected, (p % width) + 0.5, Math.floor(p / width) + 0.5, (slot, w) => {
        const g = hitGaussian[slot]!;
        for (let c = 0; c < dim; c++) acc[c] = acc[c]! + w * values[g * dim + c]!;
        if (contributions) {
          gs.push(g);
          ws.push(w);
        }
      });
      for (let c = 0; c < dim; c++) features[j * dim + c] = acc[c]!;
      alpha[j] = 1 - T;
      contributions?.push({ gaussians: Uint32Array.from(gs), weights: Float32Array.from(ws) });
    }
    return { features, alpha, ...(contributions ? { contributions } : {}) };
  }
}
