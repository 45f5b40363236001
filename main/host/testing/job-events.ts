/** Waiting on conditions and reading one job's events, for tests that follow jobs through the API. */
import type { JobEvent, TrainJobProgress } from '../../contract/api.ts';

/** Resolves once `ok()` holds (checked every 20 ms); throws after `ms`. */
export async function until(ok: () => boolean, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The events of one job, and its training progress, out of everything a client received. */
export function jobEvents(events: readonly JobEvent[]) {
  const ofJob = (jobId: string) => events.filter((e) => e.jobId === jobId);
  const progressOf = (jobId: string) => ofJob(jobId).flatMap((e) => (e.kind === 'progress' ? [e.progress as TrainJobProgress] : []));
  return { ofJob, progressOf };
}
