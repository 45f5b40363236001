/**
 * kill -9 safety: `serve` and the CLI (prepare, train, export) run as child processes on a small
 * real project (a generated scene with cameras, images and oracle masks) and are killed with
 * SIGKILL at random moments: during edits and saving (serve, driven over its WebSocket API),
 * mask preparation, training (a checkpoint every few iterations, so kills land in checkpoint
 * writes) and export. After every kill, through the real backend: the project opens, no edit the
 * server had acknowledged is lost, the training record never runs ahead of a good checkpoint, the
 * source scene folder is byte for byte unchanged, and no partial file stands at an output path.
 * The random moments come from a seeded generator (SAGA_KILL_SEED picks another sequence).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiMethods, EditState, HistoryStepInfo, JobEvent } from '../main/contract/api.ts';
import { RpcClient } from '../main/contract/rpc.ts';
import { browserModeSocketUrl, connectWebSocket, type WebSocketConstructor } from '../main/contract/transports/websocket.ts';
import { synthProject, type SynthProject } from '../main/host/testing/synth-project.ts';
import { listCheckpoints, loadCheckpoint } from '../main/project/checkpoints.ts';
import { readScene } from '../main/scene/io.ts';
import { PROJECT_ROOT } from './fixtures.ts';
import { memoryBackend } from '../main/host/testing/memory-backend.ts';

const BIN = join(PROJECT_ROOT, 'main/host/bin.mjs');
const Ws = WebSocket as unknown as WebSocketConstructor;
const RUNS_PER_KIND = Number(process.env['SAGA_KILL_RUNS'] ?? 14);

let root: string;
let synth: SynthProject;
let outDir: string;
let sourceHashes: Map<string, string>;

/** Mulberry32: the same seed gives the same kill moments. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = random(Number(process.env['SAGA_KILL_SEED'] ?? 13));
const between = (lo: number, hi: number) => lo + (hi - lo) * rand();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

function hashTree(dir: string): Map<string, string> {
  return new Map(filesUnder(dir).map((f) => [relative(dir, f), createHash('sha256').update(readFileSync(f)).digest('hex')]));
}

function cli(args: string[]): ChildProcess {
  // Its own process group, so a kill can take the whole tree (the GPU commands run in a child of
  // the launcher that filters Dawn's stderr).
  return spawn(process.execPath, [BIN, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
}

/** Living processes of a process group (from /proc): a command's launcher and its child. */
function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // A zombie leader may still have threads tearing down (holding its files and locks).
      if (Number(pgrp) === pgid && (state !== 'Z' || readdirSync(`/proc/${name}/task`).length > 1)) out.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

let kills = 0;

/**
 * SIGKILL, then wait until every process of the command is gone (its project lock goes with it).
 * Every other kill hits the launcher's pid only, as `kill -9 <pid>` would: its child must then end
 * by itself within seconds rather than work on holding the project.
 */
async function kill9(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  if (kills++ % 2 === 0) process.kill(-child.pid!, 'SIGKILL');
  else child.kill('SIGKILL');
  await gone;
  const deadline = Date.now() + 5000;
  while (groupMembers(child.pid!).length > 0) {
    if (Date.now() > deadline) throw new Error(`processes ${groupMembers(child.pid!).join(', ')} outlived their killed launcher ${child.pid}`);
    await sleep(10);
  }
}

/** Runs `args` and kills it after `ms` (or lets it finish first); returns whether it was killed. */
async function runAndKill(args: string[], ms: number): Promise<boolean> {
  const child = cli(args);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const outcome = await Promise.race([exited.then((code) => ({ code })), sleep(ms).then(() => undefined)]);
  if (outcome === undefined) {
    await kill9(child);
    return true;
  }
  // Finished before the kill: it must have succeeded.
  expect(outcome.code, `${args.join(' ')} failed: ${stderr}`).toBe(0);
  return false;
}

/** The checks after every kill, through an in-process backend on the same folders. */
async function checkAfterKill(expected: { history?: HistoryStepInfo[]; state?: EditState; inFlight?: boolean; answered?: EditState } = {}): Promise<{ state: EditState; history: HistoryStepInfo[] }> {
  // The source scene folder is byte for byte what the generator wrote.
  expect(hashTree(synth.synthDir)).toEqual(sourceHashes);
  // No partial file at an output path: every export there reads back whole.
  for (const f of readdirSync(outDir)) {
    if (!/\.(ply|splat|spz)$/.test(f)) continue;
    const scene = await readScene(join(outDir, f));
    expect(scene.count).toBeGreaterThan(0);
  }
  const { backend, client } = memoryBackend(join(root, 'check-user'));
  try {
    await client.call('project.open', { dir: synth.projectDir });
    const state = await client.call('edit.state', {});
    const history = await client.call('edit.history', {});
    if (expected.history && expected.state) {
      // Every acknowledged step is there with its label; at most the one request in flight more.
      const acked = expected.history.slice(0, expected.state.steps).map((h) => h.label);
      expect(history.steps.slice(0, acked.length).map((h) => h.label)).toEqual(acked);
      const shape = (e: EditState) => ({ cursor: e.cursor, steps: e.steps, layers: e.layers.length, deleted: e.deleted });
      if (expected.answered) {
        // The last edit was answered but its follow-up reads were not: the state it answered with,
        // or (never) the one before it.
        expect(shape(state)).toEqual(shape(expected.answered));
      } else if (!expected.inFlight) {
        expect(shape(state)).toEqual(shape(expected.state));
      } else {
        expect(state.steps - expected.state.steps).toBeGreaterThanOrEqual(0);
        expect(state.steps - expected.state.steps).toBeLessThanOrEqual(1);
        expect(Math.abs(state.cursor - expected.state.cursor)).toBeLessThanOrEqual(1);
      }
    }
    await client.call('project.prepared', {});
    const training = await client.call('project.training', {});
    // The record follows the checkpoint on disk, never the other way round; no damaged checkpoint.
    const ckpt = loadCheckpoint(synth.projectDir, { count: synth.scene.count });
    expect(ckpt?.skipped ?? []).toEqual([]);
    if (training.iteration > 0) expect(ckpt!.meta.iteration).toBeGreaterThanOrEqual(training.iteration);
    return { state, history: history.steps };
  } finally {
    client.close();
    backend.close();
  }
}

const EDITS = ['edit.invertSelection', 'edit.newLayer', 'edit.undo', 'edit.redo', 'edit.clearSelection'] as const;

interface EditLog {
  state?: EditState;
  history?: HistoryStepInfo[];
  inFlight: boolean;
  /** The answer to the last edit, until the reads after it came back (it is then the state). */
  answered?: EditState;
  acked: number;
}

/**
 * `serve`, then edits over its WebSocket API (and now and then an export, the app's Save As) until
 * the kill. An edit counts as committed once its answer arrived.
 */
async function serveEditsAndKill(ms: number, log: EditLog): Promise<void> {
  const child = cli(['serve', '--user-data', join(root, 'serve-user'), '--renderer', join(root, 'no-renderer')]);
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  const deadline = Date.now() + 20_000;
  while (!/SAGA Studio: (\S+)/.test(stdout)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`serve did not start: ${stdout}`);
    await sleep(10);
  }
  const url = /SAGA Studio: (\S+)/.exec(stdout)![1]!;
  const client = new RpcClient<ApiMethods>(await connectWebSocket(browserModeSocketUrl(url), Ws));
  const events: JobEvent[] = [];
  client.onJobEvent((e) => events.push(e));
  const killAt = Date.now() + ms;
  let gone = false;
  const killed = sleep(ms).then(async () => {
    await kill9(child);
    gone = true;
  });
  try {
    const opened = await client.call('project.open', { dir: synth.projectDir });
    void opened;
    const ack = async () => {
      const [state, history] = [await client.call('edit.state', {}), await client.call('edit.history', {})];
      log.state = state;
      log.history = history.steps;
    };
    await ack();
    // A session starts with nothing to redo, so no edit below drops undone steps.
    while (log.state!.cursor < log.state!.steps) {
      log.inFlight = true;
      log.answered = await client.call('edit.redo', {});
      log.inFlight = false;
      await ack();
      delete log.answered;
    }
    for (let i = 0; Date.now() < killAt; i++) {
      const method = EDITS[i % EDITS.length]!;
      log.inFlight = true;
      try {
        // Answered: committed. The answer carries the state it left.
        log.answered = await client.call(method, (method === 'edit.newLayer' ? { name: `layer ${log.acked}` } : {}) as never);
      } catch (e) {
        // Nothing selected to delete or make a layer of: refused, nothing changed.
        if ((e as { code?: string }).code !== 'NOTHING_SELECTED') throw e;
        log.answered = log.state;
      }
      log.inFlight = false;
      await ack();
      delete log.answered;
      log.acked++;
      if (i % 5 === 4) {
        const { jobId } = await client.call('edit.export', { path: join(outDir, `saved-${i % 3}.ply`), overwrite: true });
        while (!events.some((e) => e.jobId === jobId && e.kind !== 'progress') && !gone) await sleep(5);
      }
    }
  } catch (e) {
    if ((e as { code?: string }).code !== 'DISCONNECTED') throw e;
  } finally {
    await killed;
    client.close();
  }
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'saga-kill9-'));
  synth = await synthProject(root, { gaussians: 3000, views: 4, width: 96, height: 72, seed: 3 });
  outDir = join(root, 'out');
  mkdirSync(outDir);
  mkdirSync(join(root, 'no-renderer'));
  sourceHashes = hashTree(synth.synthDir);
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('kill -9 at random moments', () => {
  it(`serve (edits, saving), prepare, train and export, at least 50 kills: nothing committed is lost, no partial file`, async () => {
    const started = Date.now();
    const log: EditLog = { inFlight: false, acked: 0 };
    const tally: Record<string, number> = {};
    const count = (kind: string, killed: boolean) => {
      tally[kind] = (tally[kind] ?? 0) + (killed ? 1 : 0);
    };
    // A command that finished before its kill is not counted: a few more rounds make up for them.
    let run = 0;
    for (; (run < RUNS_PER_KIND || kills < 50) && run < RUNS_PER_KIND + 6; run++) {
      // Edits and saving in the app, killed mid-way.
      await serveEditsAndKill(between(300, 1500), log);
      count('serve', true);
      // From here the project's edits are what is on disk now: every later check holds them to it.
      ({ state: log.state, history: log.history } = await checkAfterKill({ ...(log.history ? { history: log.history } : {}), ...(log.state ? { state: log.state } : {}), ...(log.answered ? { answered: log.answered } : {}), inFlight: log.inFlight }));
      log.inFlight = false;
      delete log.answered;
      const edits = () => ({ history: log.history!, state: log.state! });

      // Mask preparation from scratch (--force), killed mid-way.
      const masks = run % 2 === 0 ? 'auto' : join(synth.synthDir, 'masks');
      count('prepare', await runAndKill(['prepare', '--project', synth.projectDir, '--masks', masks, '--force'], between(150, 1300)));
      await checkAfterKill(edits());

      // Training with a checkpoint every 5 iterations, killed mid-way; it resumes at the next run.
      // Imported masks prepared fully first when the last prepare was cut short.
      if (!(await prepared())) await runAndKill(['prepare', '--project', synth.projectDir, '--masks', join(synth.synthDir, 'masks')], 60_000);
      count('train', await runAndKill(['train', '--project', synth.projectDir, '--iterations', '100000', '--checkpoint-every', '5'], between(1200, 4500)));
      await checkAfterKill(edits());

      // Export of the edited scene over the same output file, killed mid-way.
      count('export', await runAndKill(['export', '--project', synth.projectDir, '--out', join(outDir, 'export.ply'), '--force'], between(60, 350)));
      await checkAfterKill(edits());
    }
    const checkpoints = listCheckpoints(synth.projectDir).length;
    console.log(`kill -9: ${kills} kills of ${run * 4} runs (${Object.entries(tally).map(([k, n]) => `${k} ${n}`).join(', ')}), ${log.acked} acknowledged edits, ${checkpoints} checkpoints kept, in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    expect(kills).toBeGreaterThanOrEqual(50);
    // Afterwards the tools still finish on the project: training resumes and exports write whole files.
    await runAndKill(['train', '--project', synth.projectDir, '--iterations', String(((await trainedIteration()) ?? 0) + 5)], 120_000);
    await runAndKill(['export', '--project', synth.projectDir, '--out', join(outDir, 'final.ply')], 60_000);
    expect(existsSync(join(outDir, 'final.ply')) && statSync(join(outDir, 'final.ply')).size).toBeGreaterThan(0);
    await checkAfterKill({ history: log.history!, state: log.state! });
  }, 400_000);
});

async function prepared(): Promise<boolean> {
  const { backend, client } = memoryBackend(join(root, 'check-user'));
  try {
    await client.call('project.open', { dir: synth.projectDir });
    const state = await client.call('project.prepared', {});
    return state.prepared === state.views;
  } finally {
    client.close();
    backend.close();
  }
}

async function trainedIteration(): Promise<number | undefined> {
  return loadCheckpoint(synth.projectDir, { count: synth.scene.count })?.meta.iteration;
}
