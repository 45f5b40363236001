import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MAX_LAYER_ID, checkLayerColour, checkLayerName, listLayers, nextLayerId, putLayer, removeLayer, setUnassignedVisible, unassignedVisible, type LayerRecord } from './layers.ts';
import { migrate } from './schema.ts';
import { Project } from './store.ts';

function db(): Database.Database {
  const d = new Database(':memory:');
  migrate(d);
  return d;
}

const layer = (id: number, sortOrder = id): LayerRecord => ({ id, name: `L${id}`, colour: '#102030', visible: true, locked: id % 2 === 0, sortOrder, createdAt: 'now' });

describe('layer rows', () => {
  it('puts, replaces, lists in panel order and removes rows', () => {
    const d = db();
    putLayer(d, layer(1, 5));
    putLayer(d, layer(2, 1));
    putLayer(d, { ...layer(1, 5), name: 'renamed', visible: false });
    expect(listLayers(d).map((l) => [l.id, l.name, l.visible, l.locked])).toEqual([[2, 'L2', true, true], [1, 'renamed', false, false]]);
    removeLayer(d, 2);
    expect(listLayers(d).map((l) => l.id)).toEqual([1]);
  });

  it('gives new layers the next id, then the lowest free one once the top id is taken', () => {
    const d = db();
    expect(nextLayerId(d)).toBe(1);
    putLayer(d, layer(1));
    putLayer(d, layer(3));
    expect(nextLayerId(d)).toBe(4);
    putLayer(d, layer(MAX_LAYER_ID));
    expect(nextLayerId(d)).toBe(2);
  });

  it('keeps the unassigned Gaussians visible until an edit hides them', () => {
    const project = new Project(':memory:', db());
    expect(unassignedVisible(project)).toBe(true);
    setUnassignedVisible(project, false);
    expect(unassignedVisible(project)).toBe(false);
    expect(project.meta('unassigned_visible')).toBe('0');
    setUnassignedVisible(project, true);
    expect(unassignedVisible(project)).toBe(true);
  });

  it('checks names and colours with sentences a user can act on', () => {
    expect(checkLayerName('  Chair ')).toBe('Chair');
    expect(() => checkLayerName(' ')).toThrow(/needs a name/);
    expect(() => checkLayerName('x'.repeat(121))).toThrow(/at most 120/);
    expect(checkLayerColour('#FFaa00')).toBe('#ffaa00');
    expect(() => checkLayerColour('red')).toThrow(/#rrggbb/);
  });
});
