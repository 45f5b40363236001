/**
 * mulberry32: a tiny seeded generator of uniform numbers in [0, 1). Used wherever a result must be
 * the same on every machine for the same seed (fuzz tests, generated scenes, fixed projections);
 * Math.random is neither seedable nor stable across runtimes.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
