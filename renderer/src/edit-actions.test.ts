import { describe, expect, it } from 'vitest';
import { lookAtCamera } from '../../main/scene/camera.ts';
import { clickRequest, sameCamera, saveConfirmation, suggestedSavePath } from './edit-actions.ts';
import type { Modifiers } from './prompt-gesture.ts';

const plain: Modifiers = { shiftKey: false, ctrlKey: false, metaKey: false, altKey: false };
const camera = lookAtCamera('viewport', [0, 0, -3], [0, 0, 0], [0, -1, 0], 400, 300, 50);

describe('clickRequest', () => {
  it('a plain click is one positive point that replaces the selection, and is remembered', () => {
    const r = clickRequest({ x: 100, y: 80 }, plain, camera, null);
    expect(r.prompt).toEqual({ kind: 'points', points: [{ x: 100, y: 80, label: 1 }] });
    expect(r.mode).toBe('replace');
    expect(r.remember).toEqual({ points: [{ x: 100, y: 80, label: 1 }], camera, mode: 'replace', sam: false });
    expect(clickRequest({ x: 1, y: 1 }, { ...plain, shiftKey: true }, camera, null).mode).toBe('add');
    expect(clickRequest({ x: 1, y: 1 }, { ...plain, ctrlKey: true }, camera, null).mode).toBe('subtract');
  });

  it('Alt+click in the same camera adds a negative point to the last click, keeping its mode', () => {
    const first = clickRequest({ x: 100, y: 80 }, { ...plain, shiftKey: true }, camera, null);
    const same = { ...camera, rotation: [...camera.rotation], translation: [...camera.translation] };
    const r = clickRequest({ x: 150, y: 90 }, { ...plain, altKey: true }, same, first.remember);
    expect(r.prompt).toEqual({ kind: 'points', points: [{ x: 100, y: 80, label: 1 }, { x: 150, y: 90, label: 0 }] });
    expect(r.mode).toBe('add');
    // A third click (another negative) builds on both.
    const again = clickRequest({ x: 20, y: 20 }, { ...plain, altKey: true }, camera, r.remember);
    expect(again.prompt.kind === 'points' && again.prompt.points.length).toBe(3);
  });

  it('Alt+click after the camera moved (or with no earlier click) takes the object under the pointer away', () => {
    const first = clickRequest({ x: 100, y: 80 }, plain, camera, null);
    const moved = lookAtCamera('viewport', [0.1, 0, -3], [0, 0, 0], [0, -1, 0], 400, 300, 50);
    for (const last of [first.remember, null]) {
      const r = clickRequest({ x: 150, y: 90 }, { ...plain, altKey: true }, moved, last);
      expect(r.prompt).toEqual({ kind: 'points', points: [{ x: 150, y: 90, label: 1 }] });
      expect(r.mode).toBe('subtract');
      expect(r.remember).toBeNull();
    }
  });

  it('the SAM tool asks for SAM prompts, and its Alt+click adds to a SAM click only', () => {
    const first = clickRequest({ x: 100, y: 80 }, plain, camera, null, true);
    expect(first.prompt).toEqual({ kind: 'points', points: [{ x: 100, y: 80, label: 1 }], sam: true });
    expect(first.remember?.sam).toBe(true);
    const negative = clickRequest({ x: 150, y: 90 }, { ...plain, altKey: true }, camera, first.remember, true);
    expect(negative.prompt).toEqual({ kind: 'points', points: [{ x: 100, y: 80, label: 1 }, { x: 150, y: 90, label: 0 }], sam: true });
    // After a plain click, a SAM Alt+click does not extend it: it takes the object away.
    const plainFirst = clickRequest({ x: 100, y: 80 }, plain, camera, null);
    const mixed = clickRequest({ x: 150, y: 90 }, { ...plain, altKey: true }, camera, plainFirst.remember, true);
    expect(mixed.mode).toBe('subtract');
    expect(mixed.prompt).toEqual({ kind: 'points', points: [{ x: 150, y: 90, label: 1 }], sam: true });
  });

  it('sameCamera tells a moved or resized camera apart', () => {
    expect(sameCamera(camera, { ...camera })).toBe(true);
    expect(sameCamera(camera, { ...camera, width: 401 })).toBe(false);
    expect(sameCamera(camera, { ...camera, translation: [0, 0, -3.0001] })).toBe(false);
  });
});

describe('saveConfirmation', () => {
  const exists = { code: 'FILE_EXISTS' as const, message: '/a/b.ply already exists. Choose another file name, or confirm replacing it.', details: { path: '/a/b.ply', source: false } };
  const source = { code: 'FILE_EXISTS' as const, message: '/a/scene.ply is this project\'s source scene.', details: { path: '/a/scene.ply', source: true } };

  it('asks before replacing an existing file, and before replacing the source scene', () => {
    expect(saveConfirmation(exists, {})).toMatchObject({ title: 'Replace the file?', message: exists.message, grant: 'overwrite' });
    expect(saveConfirmation(source, {})).toMatchObject({ title: 'Replace the source scene?', grant: 'replaceSource' });
  });

  it('asks once: a refusal after the yes, or any other error, is shown instead', () => {
    expect(saveConfirmation(exists, { overwrite: true })).toBeNull();
    expect(saveConfirmation(source, { replaceSource: true })).toBeNull();
    // Overwriting a file does not grant replacing the source scene.
    expect(saveConfirmation(source, { overwrite: true })).toMatchObject({ grant: 'replaceSource' });
    expect(saveConfirmation({ code: 'WRITE_FAILED', message: 'Could not write' }, {})).toBeNull();
  });
});

describe('suggestedSavePath', () => {
  it('puts the edited scene or a layer next to the project, with a safe file name', () => {
    expect(suggestedSavePath('/data/projects/garden/', 'garden')).toBe('/data/projects/garden/garden-edited.ply');
    expect(suggestedSavePath('/data/p', 'garden', 'Red chair / left')).toBe('/data/p/garden-Red_chair_left.ply');
    expect(suggestedSavePath('C:\\work\\p', 'g', '..')).toBe('C:\\work\\p\\g-scene.ply');
  });
});
