/**
 * A small seeded PRNG so that a synthetic scene, its views and its oracle masks are the same bytes
 * for the same seed on every machine (Math.random is neither seedable nor stable across runtimes).
 */
import { mulberry32 } from '../../common/random.ts';

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number;
  /** Integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number;
  /** Standard normal (Box-Muller). */
  normal(): number;
  /** True with probability p. */
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** A new generator whose stream depends only on this seed and `salt`, so adding draws elsewhere does not shift it. */
  fork(salt: number): Random;
}

/** Built on mulberry32: good enough statistical quality for procedural content, and trivially portable. */
export function createRandom(seed: number): Random {
  const next = mulberry32((seed >>> 0) ^ 0x9e3779b9);
  const rng: Random = {
    next,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    int: (lo, hi) => lo + Math.min(hi - lo, Math.floor(next() * (hi - lo + 1))),
    normal: () => {
      const u = Math.max(next(), 1e-12);
      const v = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    chance: (p) => next() < p,
    pick: <T>(items: readonly T[]): T => {
      if (items.length === 0) throw new RangeError('pick from an empty list');
      return items[Math.min(items.length - 1, Math.floor(next() * items.length))]!;
    },
    fork: (salt) => createRandom(hashSeed(seed, salt)),
  };
  return rng;
}

/** Mixes two integers into one seed (a murmur3-style finaliser). */
export function hashSeed(a: number, b: number): number {
  let h = (Math.imul(a >>> 0, 0x85ebca6b) ^ Math.imul((b >>> 0) + 0x27d4eb2f, 0xc2b2ae35)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}
