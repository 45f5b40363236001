/**
 * Layer rows of a project: what each layer is called, its display colour, whether it is shown and
 * whether it is locked. Which Gaussians a layer holds lives in the per-Gaussian layer channel
 * (gaussian-state.ts); the Gaussians in no layer (id 0) are "unassigned" and have one visibility
 * of their own, kept in the meta table. The table always holds the rows as of the history's cursor:
 * edits and undo write them in the same transaction as the step (history.ts).
 */
import type Database from 'better-sqlite3';
import { MAX_LAYER_NAME } from '../contract/api.ts';
import { SagaError } from '../contract/errors.ts';
import type { MetaStore } from './settings.ts';

export interface LayerRecord {
  id: number;
  name: string;
  /** '#rrggbb', lower case. */
  colour: string;
  visible: boolean;
  locked: boolean;
  sortOrder: number;
  createdAt: string;
}

/** Ids fit the per-Gaussian layer channel (u16); 0 is "no layer". */
export const MAX_LAYER_ID = 65535;
const COLOUR = /^#[0-9a-fA-F]{6}$/;
const UNASSIGNED_VISIBLE = 'unassigned_visible';

interface LayerRow {
  id: number;
  name: string;
  colour: string;
  visible: number;
  locked: number;
  sort_order: number;
  created_at: string;
}

function fromRow(r: LayerRow): LayerRecord {
  return { id: r.id, name: r.name, colour: r.colour, visible: r.visible === 1, locked: r.locked === 1, sortOrder: r.sort_order, createdAt: r.created_at };
}

export function listLayers(db: Database.Database): LayerRecord[] {
  return (db.prepare('SELECT * FROM layers ORDER BY sort_order, id').all() as LayerRow[]).map(fromRow);
}

/** Inserts the row, or replaces the row with its id. */
export function putLayer(db: Database.Database, layer: LayerRecord): void {
  db.prepare(
    `INSERT INTO layers (id, name, colour, visible, locked, sort_order, created_at) VALUES (@id, @name, @colour, @visible, @locked, @sortOrder, @createdAt)
     ON CONFLICT(id) DO UPDATE SET name = excluded.name, colour = excluded.colour, visible = excluded.visible, locked = excluded.locked, sort_order = excluded.sort_order, created_at = excluded.created_at`,
  ).run({ ...layer, visible: layer.visible ? 1 : 0, locked: layer.locked ? 1 : 0 });
}

export function removeLayer(db: Database.Database, id: number): void {
  db.prepare('DELETE FROM layers WHERE id = ?').run(id);
}

/**
 * The id for a new layer: one above the highest in use, or the lowest free one once the top is
 * taken. Reusing the id of a deleted layer is safe: the history is linear, so the edit that made
 * the new layer is always undone before the one that deleted the old.
 */
export function nextLayerId(db: Database.Database): number {
  const { top } = db.prepare('SELECT COALESCE(MAX(id), 0) AS top FROM layers').get() as { top: number };
  if (top < MAX_LAYER_ID) return top + 1;
  const ids = (db.prepare('SELECT id FROM layers ORDER BY id').all() as { id: number }[]).map((r) => r.id);
  for (let k = 0; k < ids.length; k++) if (ids[k] !== k + 1) return k + 1;
  throw new SagaError('BAD_ARGUMENT', `A project holds at most ${MAX_LAYER_ID} layers. Merge or delete some first.`);
}

/** The sort position after every layer. */
export function nextSortOrder(db: Database.Database): number {
  const { top } = db.prepare('SELECT COALESCE(MAX(sort_order), 0) AS top FROM layers').get() as { top: number };
  return top + 1;
}

/** A layer name as stored: trimmed, non-empty, not too long. */
export function checkLayerName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0) throw new SagaError('BAD_ARGUMENT', 'A layer needs a name. Type one, e.g. "Chair".');
  if (trimmed.length > MAX_LAYER_NAME) throw new SagaError('BAD_ARGUMENT', `A layer name is at most ${MAX_LAYER_NAME} characters. Choose a shorter one.`);
  return trimmed;
}

/** A layer colour as stored: '#rrggbb', lower case. */
export function checkLayerColour(colour: string): string {
  if (!COLOUR.test(colour)) throw new SagaError('BAD_ARGUMENT', `Layer colour '${colour}' is not of the form #rrggbb (e.g. #ff8800).`);
  return colour.toLowerCase();
}

/** Whether the Gaussians in no layer are shown (true until an edit hides them). */
export function unassignedVisible(store: Pick<MetaStore, 'meta'>): boolean {
  return store.meta(UNASSIGNED_VISIBLE) !== '0';
}

export function setUnassignedVisible(store: MetaStore, visible: boolean): void {
  store.setMeta({ [UNASSIGNED_VISIBLE]: visible ? '1' : '0' });
}
