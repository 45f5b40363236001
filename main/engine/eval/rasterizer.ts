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
