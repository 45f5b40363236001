/**
 * Engine crash recovery through the real backend and RPC (the path the UI takes), with the real
 * engine worker on Dawn: the worker is ended mid-training as a crash would end it. The running job
 * ends with ENGINE_CRASHED (never hangs), every window hears an 'engine-restarted' notice, a new
 * engine is running, the open project with its history and selection is untouched, and training
 * started again resumes from the checkpoint the first run wrote.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiMethods, HostNotice, JobEvent } from '../contract/api.ts';
import type { RpcClient } from '../contract/rpc.ts';
import type { SagaBackend } from './backend.ts';
import { synthProject, type SynthProject } from './testing/synth-project.ts';
import { jobEvents, until } from './testing/job-events.ts';
import { memoryBackend } from './testing/memory-backend.ts';

let root: string;
let synth: SynthProject;
let backend: SagaBackend;
let client: RpcClient<ApiMethods>;
const events: JobEvent[] = [];
const notices: HostNotice[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'saga-engine-crash-'));
  synth = await synthProject(root);
  ({ backend, client } = memoryBackend(join(root, 'user')));
  client.onJobEvent((e) => events.push(e));
  client.onNotice((n) => notices.push(n));
});

afterAll(async () => {
  backend?.close();
  rmSync(root, { recursive: true, force: true });
});

const { ofJob, progressOf } = jobEvents(events);

describe('engine crash recovery', () => {
  it('ends the running job with ENGINE_CRASHED, restarts the engine with a notice, keeps the project, and training resumes', async () => {
    await client.call('project.open', { dir: synth.projectDir });
    // Edits before the crash: everything selected, made a layer, still selected.
    await client.call('edit.invertSelection', {});
    await client.call('edit.newLayer', { name: 'kept' });
    const stateBefore = await client.call('edit.state', {});
    const historyBefore = await client.call('edit.history', {});
    expect(stateBefore.selected).toBe(synth.scene.count);

    const { jobId } = await client.call('project.train', { iterations: 5000, seed: 4 });
    await until(() => progressOf(jobId).some((p) => p.stage === 'train' && (p.iteration ?? 0) >= 10));
    // A pause writes a checkpoint: the run after the crash has something to resume from.
    await client.call('job.pause', { jobId });
    await until(() => progressOf(jobId).some((p) => p.paused === true));
    let checkpointed = 0;
    const end0 = Date.now() + 30_000;
    while ((checkpointed = (await client.call('project.training', {})).iteration) === 0 && Date.now() < end0) await new Promise((r) => setTimeout(r, 50));
    expect(checkpointed).toBeGreaterThan(0);
    await client.call('job.resume', { jobId });
    await until(() => progressOf(jobId).some((p) => p.stage === 'train' && (p.iteration ?? 0) > checkpointed));

    const crashed = await backend.gpuEngine.current!;
    await crashed.kill();

    await until(() => ofJob(jobId).some((e) => e.kind === 'error' || e.kind === 'result'), 60_000);
    const end = ofJob(jobId).at(-1)!;
    expect(end).toMatchObject({ kind: 'error', error: { code: 'ENGINE_CRASHED', message: expect.stringMatching(/GPU engine.*Start the work again/) } });
    await until(() => notices.length > 0, 60_000);
    expect(notices[0]).toMatchObject({ kind: 'engine-restarted', message: expect.stringMatching(/was restarted/) });
    expect(notices).toHaveLength(1);
    const replacement = await backend.gpuEngine.current!;
    expect(replacement).not.toBe(crashed);
    expect(replacement.crashed).toBe(false);

    // The project, its history and the selection are as they were.
    expect(await client.call('edit.state', {})).toEqual(stateBefore);
    expect(await client.call('edit.history', {})).toEqual(historyBefore);
    const status = await client.call('project.training', {});
    expect(status.runningJobId).toBeUndefined();
    expect(status.iteration).toBeGreaterThanOrEqual(checkpointed);
    // Edits still work after the crash.
    const undone = await client.call('edit.undo', {});
    expect(undone.cursor).toBe(stateBefore.cursor - 1);
    await client.call('edit.redo', {});

    // Training again: resumes from the checkpoint on the new engine, not from iteration 0.
    const target = status.iteration + 15;
    const again = await client.call('project.train', { iterations: target, seed: 4 });
    await until(() => ofJob(again.jobId).some((e) => e.kind === 'result' || e.kind === 'error'), 120_000);
    expect(ofJob(again.jobId).at(-1)).toMatchObject({ kind: 'result', result: { iteration: target, ran: 15 } });
    const firstTrain = progressOf(again.jobId).find((p) => p.stage === 'train')!;
    expect(firstTrain.iteration).toBeGreaterThan(status.iteration);
    expect(notices).toHaveLength(1);
  }, 240_000);

  it('a crash with no job running restarts the engine and tells every window', async () => {
    const before = notices.length;
    const engine = await backend.gpuEngine.current!;
    await engine.kill();
    await until(() => notices.length > before, 60_000);
    const replacement = await backend.gpuEngine.current!;
    expect(replacement).not.toBe(engine);
    expect(replacement.crashed).toBe(false);
    expect(await client.call('edit.state', {})).toMatchObject({ selected: synth.scene.count });
  }, 120_000);
});
