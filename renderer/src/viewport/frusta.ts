/**
 * Training views drawn as frusta in the viewport's overlay scene: one line object per view, so the
 * chosen view can be drawn in its own colour and a frustum the camera is inside of can be left
 * out (seen from its own centre, its edges would run across the whole viewport).
 */
import * as THREE from 'three';
import type { Camera } from '../../../main/scene/camera.ts';
import { cameraCenter } from '../../../main/scene/camera.ts';
import { frustumCorners, frustumSegments, pickFrustum, type ScreenFrustum } from './camera-math.ts';

const COLOUR = 0xf2b632;
const CHOSEN_COLOUR = 0xffffff;
/** Hide a frustum while the camera is closer to its centre than this many frustum depths. */
const INSIDE_DEPTHS = 1.5;
/** Clicks this many CSS pixels outside a frustum's outline still pick it (the lines are thin). */
const PICK_TOLERANCE_PX = 6;

export class FrustumOverlay {
  readonly group = new THREE.Group();
  private views: readonly Camera[] = [];
  /** Camera centres, kept: hideAround runs on every animation frame. */
  private centres: THREE.Vector3[] = [];
  private lines: THREE.LineSegments<THREE.BufferGeometry, THREE.LineBasicMaterial>[] = [];
  private depth = 1;

  /** Draws `views` with frusta `depth` deep (world units), replacing the previous ones. */
  setViews(views: readonly Camera[], depth: number): void {
    this.clear();
    this.views = views;
    this.centres = views.map((view) => new THREE.Vector3(...cameraCenter(view)));
    this.depth = depth;
    this.lines = views.map((view) => {
      const geometry = new THREE.BufferGeometry();
      geometry.setAttribute('position', new THREE.BufferAttribute(frustumSegments(view, depth), 3));
      const line = new THREE.LineSegments(geometry, new THREE.LineBasicMaterial({ color: COLOUR }));
      this.group.add(line);
      return line;
    });
  }

  clear(): void {
    for (const line of this.lines) {
      this.group.remove(line);
      line.geometry.dispose();
      line.material.dispose();
    }
    this.lines = [];
    this.views = [];
    this.centres = [];
  }

  get count(): number {
    return this.views.length;
  }

  view(index: number): Camera | undefined {
    return this.views[index];
  }

  /** Draws view `index` in the chosen colour (null: none). */
  choose(index: number | null): void {
    this.lines.forEach((line, i) => line.material.color.setHex(i === index ? CHOSEN_COLOUR : COLOUR));
  }

  /** Leaves out the frusta the camera at `eye` is inside of. Returns whether any visibility changed. */
  hideAround(eye: THREE.Vector3): boolean {
    let changed = false;
    this.lines.forEach((line, i) => {
      const visible = eye.distanceTo(this.centres[i]!) > this.depth * INSIDE_DEPTHS;
      if (line.visible !== visible) {
        line.visible = visible;
        changed = true;
      }
    });
    return changed;
  }

  /** The view whose drawn frustum is under canvas pixel (x, y), or -1. */
  pick(camera: THREE.PerspectiveCamera, width: number, height: number, x: number, y: number): number {
    if (!this.group.visible) return -1;
    const eye = camera.getWorldPosition(new THREE.Vector3());
    const screen = this.views.map((view, i): ScreenFrustum | null => {
      if (!this.lines[i]?.visible) return null;
      const corners: [number, number][] = [];
      for (const p of frustumCorners(view, this.depth)) {
        const v = new THREE.Vector3(p[0], p[1], p[2]).project(camera);
        // Behind the camera (or past the far plane) a point projects mirrored: leave the frustum out.
        if (v.z < -1 || v.z > 1) return null;
        corners.push([((v.x + 1) / 2) * width, ((1 - v.y) / 2) * height]);
      }
      return { corners, distance: eye.distanceTo(this.centres[i]!) };
    });
    return pickFrustum(screen, x, y, PICK_TOLERANCE_PX);
  }
}
