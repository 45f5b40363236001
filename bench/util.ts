/** Small helpers shared by the benchmarks: medians, peak memory sampling, whole-process timing. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';

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

export interface ProcessRun {
  wallMs: number;
  /** Peak resident memory of the process in bytes (from /usr/bin/time), or undefined without it. */
  peakRss?: number;
  status: number | null;
  stderr: string;
}

const TIME = '/usr/bin/time';

/**
 * Runs a command as a whole process and measures it from outside, start-up included: wall time,
 * and peak memory through GNU time (Debian's `time` package) when it is installed.
 */
export function runProcess(command: string, args: string[]): ProcessRun {
  const timed = existsSync(TIME);
  const t0 = performance.now();
  const r = timed
    ? spawnSync(TIME, ['-f', 'saga-bench-peak-kb %M', command, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    : spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const wallMs = performance.now() - t0;
  const m = /saga-bench-peak-kb (\d+)\s*$/.exec(r.stderr ?? '');
  return {
    wallMs,
    ...(m ? { peakRss: Number(m[1]) * 1024 } : {}),
    status: r.status,
    stderr: (r.stderr ?? '').replace(/saga-bench-peak-kb \d+\s*$/, ''),
  };
}

/** One line about the machine's load, printed beside timings (other work on a shared machine moves them). */
export function loadLine(): string {
  return `load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} on ${os.availableParallelism()} cores`;
}
