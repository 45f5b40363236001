import * as THREE from 'three';
import { describe, expect, it } from 'vitest';
import { cameraCenter, lookAtCamera } from '../../../main/scene/camera.ts';
import { FrustumOverlay } from './frusta.ts';
import { poseFromCamera } from './camera-math.ts';

const ring = [0, 1, 2, 3, 4, 5].map((k) => {
  const a = (k / 6) * Math.PI * 2;
  return lookAtCamera(`v${k}`, [4 * Math.cos(a), -1, 4 * Math.sin(a)], [0, 0, 0], [0, -1, 0], 320, 240, Math.PI / 3);
});

/** A viewer camera standing exactly where training view `k` stood. */
function viewerAt(k: number, aspect: number): THREE.PerspectiveCamera {
  const pose = poseFromCamera(ring[k]!);
  const camera = new THREE.PerspectiveCamera(pose.fovYDegrees, aspect, 0.01, 100);
  camera.position.set(...pose.position);
  camera.quaternion.set(...pose.quaternion);
  camera.updateMatrixWorld();
  return camera;
}

describe('FrustumOverlay', () => {
  it('leaves out the frustum the camera stands in, and draws it again once the camera moves away', () => {
    const overlay = new FrustumOverlay();
    overlay.setViews(ring, 0.5);
    expect(overlay.group.children).toHaveLength(6);
    const at = new THREE.Vector3(...cameraCenter(ring[2]!));
    expect(overlay.hideAround(at)).toBe(true);
    expect(overlay.group.children.map((c) => c.visible)).toEqual([true, true, false, true, true, true]);
    expect(overlay.hideAround(at)).toBe(false);
    expect(overlay.hideAround(new THREE.Vector3(0, -8, 0))).toBe(true);
    expect(overlay.group.children.every((c) => c.visible)).toBe(true);
  });

  it('picks a neighbour by the middle of its body, far from its apex', () => {
    const overlay = new FrustumOverlay();
    overlay.setViews(ring, 1.5);
    const [w, h] = [800, 600];
    const camera = viewerAt(0, w / h);
    overlay.hideAround(camera.position);
    // The middle of view 1's frustum: on its axis, half its depth out.
    const c = cameraCenter(ring[1]!);
    const R = ring[1]!.rotation;
    const mid = new THREE.Vector3(c[0] + 0.75 * R[6]!, c[1] + 0.75 * R[7]!, c[2] + 0.75 * R[8]!).project(camera);
    const apex = new THREE.Vector3(...c).project(camera);
    const px = (v: THREE.Vector3): [number, number] => [((v.x + 1) / 2) * w, ((1 - v.y) / 2) * h];
    const [mx, my] = px(mid);
    const [ax, ay] = px(apex);
    expect(Math.hypot(mx - ax, my - ay)).toBeGreaterThan(30);
    expect(overlay.pick(camera, w, h, mx, my)).toBe(1);
    // Hidden frusta (C) are not picked.
    overlay.group.visible = false;
    expect(overlay.pick(camera, w, h, mx, my)).toBe(-1);
  });
});
