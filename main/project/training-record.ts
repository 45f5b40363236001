/**
 * The project's feature-training record in SQLite (schema version 3): the state of the last run,
 * its settings, the prepared masks it used, and its loss history for the plot. Written by the train
 * job at each checkpoint, read by the UI and the CLI. The features are in the checkpoint files.
 */
import type Database from 'better-sqlite3';
import type { SagaErrorData } from '../contract/errors.ts';

export type TrainingRunState = 'running' | 'paused' | 'stopped' | 'done' | 'failed';

export interface TrainingRecord {
  state: TrainingRunState;
  iteration: number;
  iterations: number;
  seed: number;
  options: Record<string, unknown>;
  masksKey: string;
  error?: SagaErrorData;
  startedAt: string;
  updatedAt: string;
}

export interface LossPoint {
  iteration: number;
  guidance: number;
  corr: number;
}

interface Row {
  state: string;
  iteration: number;
  iterations: number;
  seed: number;
  options: string;
  masks_key: string;
  error: string | null;
  started_at: string;
  updated_at: string;
}

export class TrainingRecords {
  constructor(private readonly db: Database.Database) {}

  get(): TrainingRecord | undefined {
    const r = this.db.prepare('SELECT * FROM training WHERE id = 1').get() as Row | undefined;
    if (!r) return undefined;
    return {
      state: r.state as TrainingRunState,
      iteration: r.iteration,
      iterations: r.iterations,
      seed: r.seed,
      options: JSON.parse(r.options) as Record<string, unknown>,
      masksKey: r.masks_key,
      ...(r.error ? { error: JSON.parse(r.error) as SagaErrorData } : {}),
      startedAt: r.started_at,
      updatedAt: r.updated_at,
    };
  }

  /** Starts a run's record: a fresh run forgets the previous loss history, a resumed one keeps it up to where it resumes. */
  start(run: { iteration: number; iterations: number; seed: number; options: Record<string, unknown>; masksKey: string; fresh: boolean }): void {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      if (run.fresh) this.db.prepare('DELETE FROM training_losses').run();
      else this.db.prepare('DELETE FROM training_losses WHERE iteration > ?').run(run.iteration);
      this.db
        .prepare(
          `INSERT INTO training (id, state, iteration, iterations, seed, options, masks_key, error, started_at, updated_at)
           VALUES (1, 'running', ?, ?, ?, ?, ?, NULL, ?, ?)
           ON CONFLICT(id) DO UPDATE SET state = 'running', iteration = excluded.iteration, iterations = excluded.iterations,
             seed = excluded.seed, options = excluded.options, masks_key = excluded.masks_key, error = NULL,
             started_at = excluded.started_at, updated_at = excluded.updated_at`,
        )
        .run(run.iteration, run.iterations, run.seed, JSON.stringify(run.options), run.masksKey, now, now);
    })();
  }

  /** Records progress (after a checkpoint was written) and the loss points since the last update, in one transaction. */
  update(state: TrainingRunState, iteration: number, losses: LossPoint[] = [], error?: SagaErrorData): void {
    const now = new Date().toISOString();
    this.db.transaction(() => {
      this.db.prepare('UPDATE training SET state = ?, iteration = ?, error = ?, updated_at = ? WHERE id = 1').run(state, iteration, error ? JSON.stringify(error) : null, now);
      const insert = this.db.prepare('INSERT OR REPLACE INTO training_losses (iteration, guidance, corr) VALUES (?, ?, ?)');
      for (const p of losses) insert.run(p.iteration, p.guidance, p.corr);
    })();
  }

  /** The loss history, at most `max` points (evenly thinned). */
  losses(max = 2000): LossPoint[] {
    const all = this.db.prepare('SELECT iteration, guidance, corr FROM training_losses ORDER BY iteration').all() as LossPoint[];
    if (all.length <= max) return all;
    const stride = all.length / max;
    return Array.from({ length: max }, (_, i) => all[Math.floor(i * stride)]!);
  }
}
