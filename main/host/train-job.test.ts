/**
 * project.train through the real backend and RPC (the path the UI takes): a job with progress
 * events (iteration, losses, rate, ETA) at most ten a second, pause and resume, BUSY for a second
 * training or a prepare meanwhile, cancel keeping a checkpoint, the training status, and a
 * refusal that says to prepare first.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiMethods, JobEvent } from '../contract/api.ts';
import type { RpcClient } from '../contract/rpc.ts';
import { resolveProjectSource } from '../project/source.ts';
import { createProject } from '../project/store.ts';
import type { SagaBackend } from './backend.ts';
import { synthProject, type SynthProject } from './testing/synth-project.ts';
import { readTrainedFeatures } from '../project/checkpoints.ts';
import { pcaColors } from './feature-colors.ts';
import { jobEvents, until } from './testing/job-events.ts';
import { memoryBackend } from './testing/memory-backend.ts';

let root: string;
let synth: SynthProject;
let backend: SagaBackend;
let client: RpcClient<ApiMethods>;
const events: JobEvent[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'saga-train-job-'));
  synth = await synthProject(root);
  ({ backend, client } = memoryBackend(join(root, 'user')));
  client.onJobEvent((e) => events.push(e));
});

afterAll(async () => {
  backend.close();
  rmSync(root, { recursive: true, force: true });
});

const { ofJob, progressOf } = jobEvents(events);

describe('project.train through the backend', () => {
  it('refuses before a project is open, and says to prepare first on an unprepared project', async () => {
    await expect(client.call('project.train', {})).rejects.toMatchObject({ code: 'NO_PROJECT' });
    const resolved = await resolveProjectSource(synth.synthDir, {});
    createProject(join(root, 'bare'), { source: resolved.source }).close();
    await client.call('project.open', { dir: join(root, 'bare') });
    await expect(client.call('project.train', { iterations: 10 })).rejects.toMatchObject({ code: 'MASKS_MISSING', message: expect.stringMatching(/Run Prepare first/) });
    await expect(client.call('project.featureColors', {})).rejects.toMatchObject({ code: 'FEATURES_MISSING', message: expect.stringMatching(/click Train/) });
    expect(await client.call('project.training', {})).toMatchObject({ state: 'missing', trainableViews: 0 });
  });

  it('trains as a pausable job with throttled progress, refuses a second job, and reports the status', async () => {
    await client.call('project.open', { dir: synth.projectDir });
    expect(await client.call('project.training', {})).toMatchObject({ state: 'missing', iteration: 0 });
    const { jobId } = await client.call('project.train', { iterations: 150, seed: 2 });
    await expect(client.call('project.train', {})).rejects.toMatchObject({ code: 'BUSY' });
    await expect(client.call('project.prepare', { masks: 'auto' })).rejects.toMatchObject({ code: 'BUSY', message: expect.stringMatching(/being trained/) });
    await until(() => progressOf(jobId).some((p) => p.stage === 'train' && (p.iteration ?? 0) >= 20));
    const running = await client.call('project.training', {});
    expect(running.runningJobId).toBe(jobId);

    await client.call('job.pause', { jobId });
    await until(() => progressOf(jobId).some((p) => p.paused === true));
    await new Promise((r) => setTimeout(r, 300));
    const atPause = Math.max(...progressOf(jobId).map((p) => p.iteration ?? 0));
    await new Promise((r) => setTimeout(r, 700));
    expect(Math.max(...progressOf(jobId).map((p) => p.iteration ?? 0))).toBe(atPause);
    expect(await client.call('project.training', {})).toMatchObject({ runningJobId: jobId, paused: true });
    // A pause writes a checkpoint, so a crash while paused loses nothing.
    expect((await client.call('project.training', {})).iteration).toBeGreaterThan(0);
    await client.call('job.resume', { jobId });

    await until(() => ofJob(jobId).some((e) => e.kind === 'result' || e.kind === 'error'), 300_000);
    const end = ofJob(jobId).at(-1)!;
    expect(end.kind).toBe('result');
    expect(end.kind === 'result' && end.result).toMatchObject({ iteration: 150, iterations: 150, views: 4 });
    const train = progressOf(jobId).filter((p) => p.stage === 'train');
    const last = train.at(-1)!;
    expect(last).toMatchObject({ done: 150, total: 150, iteration: 150 });
    expect(last.losses!.guidance).toBeGreaterThan(0);
    expect(last.iterationsPerSecond).toBeGreaterThan(0);
    expect(train.some((p) => p.etaSeconds !== undefined)).toBe(true);
    // At most ten progress events a second (the trainer reports every 100 ms).
    const times = events.filter((e) => e.jobId === jobId && e.kind === 'progress').length;
    expect(times).toBeLessThan(150);
    const status = await client.call('project.training', {});
    expect(status).toMatchObject({ state: 'trained', stale: false, iteration: 150, iterations: 150, seed: 2 });
    expect(status.runningJobId).toBeUndefined();
    expect(status.losses.length).toBeGreaterThan(3);
  });

  it('colours the Gaussians by their trained features: RGB bytes per Gaussian in one binary attachment', async () => {
    const first = await client.call('project.featureColors', {});
    expect(first.iteration).toBe(150);
    // Decoded from a binary attachment: JSON would have made it a plain object or array.
    expect(first.colors).toBeInstanceOf(Uint8Array);
    expect(first.colors.length).toBe(synth.scene.count * 3);
    // The newest checkpoint's features through the PCA colouring (whose separation feature-colors.test.ts checks).
    const trained = readTrainedFeatures(synth.projectDir, synth.scene.count)!;
    expect(trained.iteration).toBe(150);
    expect(Buffer.from(first.colors).equals(Buffer.from(pcaColors(trained.features, trained.count, trained.dim)))).toBe(true);
    expect(new Set(first.colors).size).toBeGreaterThan(100);
    // Unchanged checkpoint: the same colours again without recomputing them.
    const again = await client.call('project.featureColors', {});
    expect(Buffer.from(again.colors).equals(Buffer.from(first.colors))).toBe(true);
  });

  it('cancels a run with a CANCELLED event that says where it stopped; the next run resumes', async () => {
    const { jobId } = await client.call('project.train', { iterations: 2000 });
    await until(() => progressOf(jobId).some((p) => p.stage === 'train' && (p.iteration ?? 0) >= 170));
    await client.call('job.cancel', { jobId });
    await until(() => ofJob(jobId).some((e) => e.kind === 'error'));
    const err = ofJob(jobId).find((e) => e.kind === 'error');
    expect(err).toMatchObject({ error: { code: 'CANCELLED', message: expect.stringMatching(/stopped at iteration \d+; it resumes/) } });
    const status = await client.call('project.training', {});
    expect(status.state).toBe('partial');
    expect(status.iteration).toBeGreaterThanOrEqual(170);
    const again = await client.call('project.train', { iterations: status.iteration + 5 });
    await until(() => ofJob(again.jobId).some((e) => e.kind === 'result'));
    expect(ofJob(again.jobId).at(-1)).toMatchObject({ kind: 'result', result: { ran: 5 } });
  });

  it('keeps training when its own project is opened again (a reloaded page), and reports the job', async () => {
    const { jobId } = await client.call('project.train', { iterations: 5000 });
    await until(() => progressOf(jobId).some((p) => p.stage === 'train'));
    await client.call('project.open', { dir: synth.projectDir });
    const status = await client.call('project.training', {});
    expect(status).toMatchObject({ runningJobId: jobId, paused: false });
    const before = Math.max(...progressOf(jobId).map((p) => p.iteration ?? 0));
    await until(() => progressOf(jobId).some((p) => (p.iteration ?? 0) > before + 5));
    expect(ofJob(jobId).some((e) => e.kind === 'error')).toBe(false);
    await client.call('job.cancel', { jobId });
    await until(() => ofJob(jobId).some((e) => e.kind === 'error'));
  });

  it('stops training when its project is closed, keeping a checkpoint', async () => {
    const { jobId } = await client.call('project.train', { iterations: 5000 });
    await until(() => progressOf(jobId).some((p) => p.stage === 'train'));
    await client.call('project.close', {});
    await until(() => ofJob(jobId).some((e) => e.kind === 'error'));
    expect(ofJob(jobId).at(-1)).toMatchObject({ kind: 'error', error: { code: 'CANCELLED' } });
  });
});
