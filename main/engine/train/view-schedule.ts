/**
 * Which view each training iteration uses, and which prepared views must stay in the engine.
 *
 * Views come in epochs, each a seeded shuffle of all views (the official code pops views from a
 * shuffled stack the same way). When every view's blend lists fit the memory budget, iteration i
 * uses view i of that sequence and views stay prepared once prepared. When they do not fit, a window
 * of `window` consecutive positions of the sequence stays prepared: each iteration picks a view in
 * the window at random, and the window slides one position every `period` iterations, so each view
 * is prepared about once per pass instead of once per use (preparing a view's lists costs about
 * as much as 50 training steps).
 *
 * Every answer is a pure function of (seed, iteration), so a resumed run makes the same choices.
 */
import { Mulberry32 } from '../../common/random.ts';

export class ViewSchedule {
  /** Iterations between two slides of the window (windowed mode only). */
  readonly period: number;
  private readonly epochs = new Map<number, Uint32Array>();

  constructor(
    readonly views: number,
    readonly seed: number,
    readonly iterations: number,
    /** Views that may be prepared at once; `views` (or more) means all of them. */
    readonly window: number,
  ) {
    // One pass: the window's start visits every position once over the run.
    this.period = this.windowed ? Math.max(1, Math.floor(iterations / Math.max(1, views - window + 1))) : 1;
  }

  get windowed(): boolean {
    return this.window < this.views;
  }

  /** The view at position `i` of the infinite sequence of shuffled epochs. */
  at(i: number): number {
    const epoch = Math.floor(i / this.views);
    let order = this.epochs.get(epoch);
    if (!order) {
      order = Uint32Array.from({ length: this.views }, (_, k) => k);
      const r = new Mulberry32((this.seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0);
      for (let k = order.length - 1; k > 0; k--) {
        const j = r.below(k + 1);
        [order[k], order[j]] = [order[j]!, order[k]!];
      }
      if (this.epochs.size > 4) this.epochs.delete(this.epochs.keys().next().value!);
      this.epochs.set(epoch, order);
    }
    return order[i - epoch * this.views]!;
  }

  /** The view iteration `iteration` trains on. */
  pick(iteration: number): number {
    if (!this.windowed) return this.at(iteration);
    const start = Math.floor(iteration / this.period);
    const r = new Mulberry32((this.seed ^ Math.imul(iteration + 1, 0x85ebca6b)) >>> 0);
    return this.at(start + r.below(this.window));
  }

  /** Views that should be prepared at `iteration` (windowed mode); undefined: keep what is prepared. */
  resident(iteration: number): Set<number> | undefined {
    if (!this.windowed) return undefined;
    const start = Math.floor(iteration / this.period);
    const set = new Set<number>();
    for (let i = start; i < start + this.window; i++) set.add(this.at(i));
    return set;
  }
}
