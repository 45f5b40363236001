/**
 * Per-project UI settings (ProjectSettings), kept as rows of the project database's meta table so
 * they travel with the project folder: one key per setting, text values.
 */
import type { ProjectSettings } from '../contract/api.ts';

/** What settings need from a project: its meta rows. */
export interface MetaStore {
  meta(key: string): string | undefined;
  /** Writes every entry in one transaction. */
  setMeta(entries: Readonly<Record<string, string>>): void;
}

const KEYS = { upFlipped: 'settings.up_flipped' } as const satisfies Record<keyof ProjectSettings, string>;

export function readSettings(store: Pick<MetaStore, 'meta'>): ProjectSettings {
  return { upFlipped: store.meta(KEYS.upFlipped) === '1' };
}

/** Stores the settings given (the others keep their value) and returns them all. */
export function updateSettings(store: MetaStore, change: Partial<ProjectSettings>): ProjectSettings {
  const entries: Record<string, string> = {};
  if (change.upFlipped !== undefined) entries[KEYS.upFlipped] = change.upFlipped ? '1' : '0';
  if (Object.keys(entries).length > 0) store.setMeta(entries);
  return readSettings(store);
}
