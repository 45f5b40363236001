/**
 * Feature training as the Training panel drives it: the open project's training status, the
 * training job this window follows (started here, or found running when the project opened), its
 * pause, resume and cancel, and the loss history. What the panel says is decided by the pure
 * functions of training-state.ts; this class only talks to the backend and keeps their result.
 */
import type { JobEvent, SagaApi } from '../../main/contract/api.ts';
import type { SagaErrorData } from '../../main/contract/errors.ts';
import { describeError } from './api/errors.ts';
import { NO_TRAINING, trainingPhase, withJobEvent, withoutConnection, withStartedJob, withStatus, type TrainingView } from './training-state.ts';

export interface FeatureTrainingHooks {
  /** A request failed: show its sentence. */
  error(error: SagaErrorData): void;
  /** A followed run ended (result, cancel or failure): the trained features changed. */
  ended(): void;
}

export class FeatureTraining {
  view = $state.raw<TrainingView>(NO_TRAINING);
  readonly phase = $derived(trainingPhase(this.view));
  /** Answers to requests made before the last reset are about another project: dropped. */
  private generation = 0;

  constructor(
    private readonly api: SagaApi,
    private readonly hooks: FeatureTrainingHooks,
  ) {}

  /** Forget everything (project closed or another one opened). */
  reset(): void {
    this.generation++;
    this.view = NO_TRAINING;
  }

  /** Asks for the open project's status; attaches to a training job running on the host. */
  async refresh(): Promise<void> {
    const generation = this.generation;
    const status = await this.request(() => this.api.call('project.training', {}));
    if (status && generation === this.generation) this.view = withStatus(this.view, status);
  }

  /** Train: resumes from the last checkpoint unless `restart`; `iterations` is the run's target. */
  async train(iterations: number, restart = false): Promise<void> {
    if (this.view.job) return;
    if (!Number.isInteger(iterations) || iterations < 1) {
      this.hooks.error({ code: 'BAD_ARGUMENT', message: 'Enter the number of iterations to train to, a whole number of at least 1.' });
      return;
    }
    const generation = this.generation;
    const started = await this.request(() => this.api.call('project.train', { iterations, ...(restart ? { restart } : {}) }));
    if (started && generation === this.generation) this.view = withStartedJob(this.view, started.jobId);
  }

  async pause(): Promise<void> {
    const job = this.view.job;
    if (job) await this.request(() => this.api.call('job.pause', { jobId: job.id }));
  }

  async resume(): Promise<void> {
    const job = this.view.job;
    if (job) await this.request(() => this.api.call('job.resume', { jobId: job.id }));
  }

  async cancel(): Promise<void> {
    const job = this.view.job;
    if (job) await this.request(() => this.api.call('job.cancel', { jobId: job.id }));
  }

  /** Takes the events of the followed job; returns false for any other job's. */
  handle(event: JobEvent): boolean {
    const next = withJobEvent(this.view, event);
    if (!next) return false;
    this.view = next.view;
    if (next.finished) {
      // A failure is said in the panel (the run's end and the state line), not in the banner too.
      void this.refresh();
      this.hooks.ended();
    }
    return true;
  }

  /** The backend is gone: no event of the job can come, so its buttons must not wait for one. */
  disconnected(): void {
    this.view = withoutConnection(this.view);
  }

  private async request<T>(call: () => Promise<T>): Promise<T | undefined> {
    try {
      return await call();
    } catch (e) {
      this.hooks.error(describeError(e));
      return undefined;
    }
  }
}
