/** Small helpers shared by the benchmarks: medians and peak memory sampling. */

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Samples RSS every few milliseconds while `fn` runs, returning its result and the peak RSS in bytes. */
export async function withPeakRss<T>(fn: () => Promise<T> | T, intervalMs = 5): Promise<{ result: T; peakRss: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    const r = process.memoryUsage.rss();
    if (r > peak) peak = r;
  }, intervalMs);
  try {
    const result = await fn();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, peakRss: peak };
  } finally {
    clearInterval(timer);
  }
}

export const MB = 1024 * 1024;
