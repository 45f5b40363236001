/**
 * Feature training on a real prepared project (synthetic scene with ground truth, SQLite store,
 * Dawn engine in its worker, onnxruntime): training lowers the loss and separates the objects'
 * features; a run stopped mid-way resumes from its checkpoint and ends exactly where an
 * uninterrupted run with the same seed ends; damaged checkpoints and unprepared projects are handled.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSagaError } from '../contract/errors.ts';
import { featureProbe } from '../engine/train/probe.ts';
import { initialFeatures, type TrainProgress } from '../engine/train/trainer.ts';
import { listCheckpoints, readTrainedFeatures } from '../project/checkpoints.ts';
import { createProject, openProject } from '../project/store.ts';
import { resolveProjectSource } from '../project/source.ts';
import { EngineClient } from './engine-client.ts';
import { synthProject, type SynthProject } from './testing/synth-project.ts';
import { runProjectTraining, trainingStatus, type TrainRequest } from './training-run.ts';

let root: string;
let synth: SynthProject;
let engine: EngineClient;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'saga-train-'));
  synth = await synthProject(root);
  engine = await EngineClient.start();
  await engine.loadScene(synth.scene);
});

afterAll(async () => {
  await engine?.close();
  rmSync(root, { recursive: true, force: true });
});

const tuning: TrainRequest['tuning'] = { checkpointEvery: 20, lr: 0.025, guidancePixels: 2048, corrPixels: 512, threads: 1 };

async function trainIn(dir: string, request: TrainRequest, extra: { signal?: AbortSignal; onProgress?: (p: TrainProgress) => void } = {}) {
  const project = openProject(dir);
  try {
    return await runProjectTraining({ project, engine, count: synth.scene.count, ...extra }, { tuning, ...request });
  } finally {
    project.close();
  }
}

describe('feature training', () => {
  it('lowers the loss and separates the objects far beyond untrained features', async () => {
    const losses: { guidance: number; corr: number }[] = [];
    const summary = await trainIn(synth.projectDir, { iterations: 150, seed: 3 }, { onProgress: (p) => p.losses && losses.push(p.losses) });
    expect(summary.ran).toBe(150);
    expect(summary.views).toBe(4);
    const first = losses.slice(0, 3).reduce((s, l) => s + l.guidance, 0) / 3;
    const last = losses.slice(-3).reduce((s, l) => s + l.guidance, 0) / 3;
    expect(last).toBeLessThan(first * 0.8);
    const trained = readTrainedFeatures(synth.projectDir, synth.scene.count)!;
    expect(trained.iteration).toBe(150);
    const untrained = featureProbe(initialFeatures(synth.scene.count, 32, 3), 32, synth.objectIds).share;
    const probe = featureProbe(trained.features, 32, synth.objectIds).share;
    expect(probe).toBeGreaterThan(untrained + 0.25);
    const project = openProject(synth.projectDir);
    try {
      const status = trainingStatus(project);
      expect(status).toMatchObject({ state: 'trained', stale: false, iteration: 150, iterations: 150, trainableViews: 4 });
      expect(status.losses.length).toBeGreaterThan(0);
    } finally {
      project.close();
    }
    // Asked again for the same target: nothing to do.
    expect((await trainIn(synth.projectDir, { iterations: 150 })).ran).toBe(0);
  });

  it('a run stopped mid-way resumes from its checkpoint and ends exactly where an uninterrupted run ends', async () => {
    const resolved = await resolveProjectSource(synth.synthDir, {});
    // Two projects on the same scene with the same prepared views (a copy of the cache).
    const make = (name: string) => {
      const dir = join(root, name);
      createProject(dir, { source: resolved.source }).close();
      cpSync(join(synth.projectDir, 'cache'), join(dir, 'cache'), { recursive: true });
      return dir;
    };
    const straight = make('straight');
    const stopped = make('stopped');
    await trainIn(straight, { iterations: 50, seed: 9 });
    const ac = new AbortController();
    await expect(trainIn(stopped, { iterations: 50, seed: 9 }, { signal: ac.signal, onProgress: (p) => p.iteration >= 27 && ac.abort() })).rejects.toMatchObject({ code: 'CANCELLED' });
    const partial = readTrainedFeatures(stopped, synth.scene.count)!;
    expect(partial.iteration).toBeGreaterThanOrEqual(27);
    expect(partial.iteration).toBeLessThan(50);
    const status = openProject(stopped);
    expect(trainingStatus(status).state).toBe('partial');
    status.close();
    const resumed = await trainIn(stopped, { iterations: 50, seed: 9 });
    expect(resumed.ran).toBe(50 - partial.iteration);
    const a = readTrainedFeatures(straight, synth.scene.count)!.features;
    const b = readTrainedFeatures(stopped, synth.scene.count)!.features;
    expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
  });

  it('skips a damaged newest checkpoint and resumes from the one before', async () => {
    const before = listCheckpoints(synth.projectDir);
    const newest = before[0]!;
    const bytes = readFileSync(newest.path);
    bytes[bytes.length - 3]! ^= 0x55;
    writeFileSync(newest.path, bytes);
    const summary = await trainIn(synth.projectDir, { iterations: newest.iteration + 10 });
    expect(summary.damagedCheckpoints).toHaveLength(1);
    expect(summary.damagedCheckpoints[0]).toMatch(/checksum/);
    expect(summary.ran).toBe(newest.iteration + 10 - before[1]!.iteration);
    expect(readTrainedFeatures(synth.projectDir, synth.scene.count)!.iteration).toBe(newest.iteration + 10);
  });

  it('says to prepare first on a project whose views are not prepared', async () => {
    const resolved = await resolveProjectSource(synth.synthDir, {});
    const dir = join(root, 'unprepared');
    createProject(dir, { source: resolved.source }).close();
    try {
      await trainIn(dir, { iterations: 5 });
      expect.unreachable();
    } catch (e) {
      expect(isSagaError(e, 'MASKS_MISSING')).toBe(true);
      expect((e as Error).message).toMatch(/Run Prepare first/);
    }
  });
});
