/**
 * mulberry32: a tiny seeded generator of uniform numbers in [0, 1). Used wherever a result must be
 * the same on every machine for the same seed (fuzz tests, generated scenes, fixed projections,
 * training); Math.random is neither seedable nor stable across runtimes.
 */

/** A source of uniform numbers in [0, 1). */
export type Uniform = () => number;

/** The generator with its 32-bit state exposed, so a training checkpoint can save and restore it. */
export class Mulberry32 {
  state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  below(n: number): number {
    return Math.min(n - 1, Math.floor(this.next() * n));
  }

  /** Standard normal (Box-Muller; one of the pair, so the stream stays a plain sequence of draws). */
  normal(): number {
    const u = Math.max(this.next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
}

export function mulberry32(seed: number): Uniform {
  const generator = new Mulberry32(seed);
  return () => generator.next();
}
