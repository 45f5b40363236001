/**
 * SAGA's feature training loop (the paper's section 3.3): a D-dimensional feature per Gaussian and
 * the SAM projection MLP, trained so that rendered feature maps reproduce each view's masks.
 *
 * One iteration: pick a view (view-schedule.ts); sample pixels for each loss; the engine renders
 * the features at those pixels from the view's cached blend lists (geometry is frozen);
 * onnxruntime computes both losses and their gradients (step-graph.ts); the engine back-propagates
 * the pixels' gradients to the Gaussians and takes an Adam step on them; Adam updates the MLP here.
 *
 * Sampling, as chosen for speed on CPUs (see the training figures in the README): the guidance loss
 * is averaged over `guidancePixels` pixels drawn at random (an unbiased estimate of the mean over
 * the map) and at most `maxMasks` masks per step; the correspondence loss over `corrPixels` pixels
 * (as the official v2 code samples 1000). All draws come from one seeded generator whose state is
 * part of the checkpoint, so a run resumed from a checkpoint continues exactly.
 *
 * The loop is a library: it gets the engine, the views (each with a loader the host provides) and
 * a checkpoint sink; it never touches project files itself.
 */
import { Mulberry32 } from '../../common/random.ts';
import { SagaError } from '../../contract/errors.ts';
import type { Camera } from '../../scene/camera.ts';
import { adamState, adamStep, type AdamState } from './adam.ts';
import { initMlp, mlpSize, SAM_CHANNELS } from './mlp.ts';
import { StepGraph } from './step-graph.ts';
import type { TrainingView } from './view-data.ts';
import { ViewSchedule } from './view-schedule.ts';

/** What the loop needs of the GPU engine (EngineClient in the host implements it). */
export interface TrainingEngine {
  /** Where the engine keeps prepared views' lists: 8 bytes per contribution in WebAssembly, 16 on the GPU. */
  readonly training: 'gpu' | 'wasm';
  setFeatures(features: Float32Array, dim: number): Promise<unknown>;
  readFeatures(): Promise<Float32Array>;
  readAdamState(): Promise<{ m: Float32Array; v: Float32Array; step: number }>;
  setAdamState(state: { m: Float32Array; v: Float32Array; step: number }): Promise<unknown>;
  prepareView(camera: Camera, options: { width: number; height: number }): Promise<{ view: number; contributions: number }>;
  /** Features of a prepared view at the listed pixels, one row each. */
  forwardPixels(view: number, pixels: Uint32Array): Promise<Float32Array>;
  /** Back-propagates one gradient row per listed pixel (repeats add up) to the Gaussians. */
  backwardPixels(view: number, pixels: Uint32Array, grad: Float32Array, keepOnGpu: boolean): Promise<Float32Array>;
  adamStep(options: { lr: number; eps?: number }): Promise<{ step: number }>;
  releaseView(view: number): Promise<unknown>;
}

/** A view to train on: its camera and how to load its masks and image features (the host reads the cache). */
export interface TrainViewSource {
  name: string;
  camera: Camera;
  load(): Promise<TrainingView>;
}

export interface TrainOptions {
  iterations: number;
  seed: number;
  /** Feature channels per Gaussian (32 in SAGA). */
  dim: number;
  /** Adam learning rate of the features and of the MLP (0.0025 in the official code). */
  lr: number;
  /** Weight of the correspondence loss (lambda; 1 in the paper). */
  lambda: number;
  /** Ablation switches. */
  guidance: boolean;
  correspondence: boolean;
  guidancePixels: number;
  corrPixels: number;
  maxMasks: number;
  /** Bytes of blend lists the engine may hold at once (views beyond it are prepared again when they come round). */
  listBudgetBytes: number;
  /** Iterations between checkpoints. */
  checkpointEvery: number;
  /** onnxruntime intra-op threads (the same count and seed give the same features). */
  threads: number;
  /** Standard deviation of the random initial features (1, as the official code's torch.randn). */
  initScale: number;
  /**
   * Share of each loss's sampled pixels drawn mask by mask (a random mask, then a random pixel of it)
   * instead of uniformly over the view, so small objects take part in every step (0: all uniform).
   */
  maskSampling: number;
}

export const TRAIN_DEFAULTS: TrainOptions = {
  iterations: 10_000,
  seed: 0,
  dim: 32,
  lr: 0.0025,
  lambda: 1,
  guidance: true,
  correspondence: true,
  guidancePixels: 4096,
  corrPixels: 512,
  maxMasks: 64,
  // 1 GiB: 1M Gaussians on 200 views peak at 3.6 GB RSS (4.1 GB with 1.5 GiB; bench train).
  listBudgetBytes: 1024 ** 3,
  checkpointEvery: 500,
  threads: 2,
  initScale: 1,
  maskSampling: 0.5,
};

/** Everything needed to continue a run exactly (a checkpoint's contents). */
export interface TrainState {
  iteration: number;
  features: Float32Array;
  featureAdam: AdamState;
  mlp: Float32Array;
  mlpAdam: AdamState;
  /** The sampling generator's state. */
  random: number;
  /** The view window chosen at the start of the run (see ViewSchedule). */
  window: number;
}

export interface TrainLosses {
  guidance: number;
  corr: number;
}

export interface TrainProgress {
  stage: 'train' | 'prepare-view';
  iteration: number;
  iterations: number;
  /** Mean losses over the iterations since the previous report. */
  losses?: TrainLosses;
  iterationsPerSecond?: number;
  etaSeconds?: number;
  /** The view being prepared (stage 'prepare-view'). */
  view?: string;
  /** Mean milliseconds per iteration spent in each phase since the previous report. */
  phases?: StepPhases;
}

/** Where an iteration's time goes (milliseconds). */
export interface StepPhases {
  /** Rendering the feature map from the cached lists (engine). */
  forward: number;
  /** Sampling pixels and masks, gathering their features (here). */
  sample: number;
  /** Losses and gradients (onnxruntime). */
  losses: number;
  /** The feature-map gradient back to the Gaussians (engine). */
  backward: number;
  /** Adam on the Gaussian features (engine) and on the MLP (here). */
  adam: number;
}

const NO_PHASES: StepPhases = { forward: 0, sample: 0, losses: 0, backward: 0, adam: 0 };

export interface TrainRun {
  engine: TrainingEngine;
  /** Gaussians of the scene loaded in the engine. */
  count: number;
  views: TrainViewSource[];
  options: TrainOptions;
  /** Continue from this state instead of starting fresh. */
  resume?: TrainState;
  signal?: AbortSignal;
  /** Pause between iterations: a checkpoint is written when a pause begins (a host killed while paused loses nothing). */
  control?: { readonly paused: boolean; whilePaused(): Promise<void> };
  onProgress?: (p: TrainProgress) => void;
  /** Called with the state every `checkpointEvery` iterations, on cancel and at the end. */
  onCheckpoint?: (state: TrainState) => Promise<void>;
}

interface Resident {
  engineView: number;
  data: TrainingView;
  bytes: number;
  lastUse: number;
}

function cancelled(iteration: number): SagaError {
  return new SagaError('CANCELLED', `Training was stopped at iteration ${iteration}; it resumes from there when you train again.`, { iteration });
}

/** Standard normal features, as the official code starts them (torch.randn). */
export function initialFeatures(count: number, dim: number, seed: number, scale = 1): Float32Array {
  const r = new Mulberry32((seed ^ 0x5f3759df) >>> 0);
  const out = new Float32Array(count * dim);
  for (let i = 0; i < out.length; i++) out[i] = r.normal() * scale;
  return out;
}

export async function train(run: TrainRun): Promise<TrainState> {
  const { engine, views, options: o, count } = run;
  if (views.length === 0) throw new SagaError('MASKS_MISSING', 'No prepared view has masks to train on. Run Prepare first.');
  if (!(o.iterations > 0)) throw new SagaError('BAD_ARGUMENT', 'Train for at least one iteration.');
  const graph = await StepGraph.create({ dim: o.dim, guidance: o.guidance, correspondence: o.correspondence }, o.threads);
  const resident = new Map<number, Resident>();
  try {
    const state: TrainState = run.resume ?? {
      iteration: 0,
      features: initialFeatures(count, o.dim, o.seed, o.initScale),
      featureAdam: { m: new Float32Array(0), v: new Float32Array(0), step: 0 },
      mlp: initMlp(o.dim, (() => {
        const r = new Mulberry32((o.seed ^ 0x2545f491) >>> 0);
        return () => r.next();
      })()),
      mlpAdam: adamState(mlpSize(o.dim)),
      random: (o.seed ^ 0x1b873593) >>> 0,
      window: 0,
    };
    if (state.features.length !== count * o.dim || state.mlp.length !== mlpSize(o.dim)) {
      throw new SagaError('BAD_ARGUMENT', `The saved training state is for ${state.features.length / o.dim} Gaussians; this scene has ${count}. Train again from the start.`);
    }
    await engine.setFeatures(state.features, o.dim);
    if (state.featureAdam.step > 0) await engine.setAdamState(state.featureAdam);
    const random = new Mulberry32(state.random);
    const bytesPerContribution = engine.training === 'wasm' ? 8 : 16;

    const loadView = async (index: number, iteration: number): Promise<Resident> => {
      const have = resident.get(index);
      if (have) {
        have.lastUse = iteration;
        return have;
      }
      const source = views[index]!;
      run.onProgress?.({ stage: 'prepare-view', iteration, iterations: o.iterations, view: source.name });
      const data = await source.load();
      if (o.guidance && !data.sam) {
        throw new SagaError('MASKS_MISSING', `View '${source.name}' has masks but no image features, which the guidance loss needs. Prepare the views again.`, { view: source.name });
      }
      if (data.sam && data.sam.channels !== SAM_CHANNELS) {
        throw new SagaError('PROJECT_CORRUPT', `View '${source.name}' has ${data.sam.channels}-channel image features; training expects ${SAM_CHANNELS}. Prepare the views again.`);
      }
      const { view, contributions } = await engine.prepareView(source.camera, { width: data.width, height: data.height });
      const entry: Resident = { engineView: view, data, bytes: contributions * bytesPerContribution + data.width * data.height * 4, lastUse: iteration };
      resident.set(index, entry);
      return entry;
    };
    const release = async (index: number) => {
      const r = resident.get(index);
      if (!r) return;
      resident.delete(index);
      await engine.releaseView(r.engineView);
    };

    // The window: all views when their lists fit the budget, judged from the first view's size.
    if (state.window === 0) {
      const first = await loadView(new ViewSchedule(views.length, o.seed, o.iterations, views.length).pick(state.iteration), state.iteration);
      state.window = Math.max(1, Math.min(views.length, Math.floor(o.listBudgetBytes / (first.bytes * 1.25))));
    }
    const schedule = new ViewSchedule(views.length, o.seed, o.iterations, state.window);

    let sinceReport = { guidance: 0, corr: 0, n: 0, phases: { ...NO_PHASES } };
    let lastReport = performance.now();
    let rate: number | undefined;
    const checkpoint = async () => {
      state.features = await engine.readFeatures();
      const adam = await engine.readAdamState();
      state.featureAdam = { m: adam.m, v: adam.v, step: adam.step };
      state.random = random.state;
      await run.onCheckpoint?.(state);
    };

    while (state.iteration < o.iterations) {
      if (run.signal?.aborted) {
        await checkpoint();
        throw cancelled(state.iteration);
      }
      if (run.control?.paused) {
        await checkpoint();
        await run.control.whilePaused();
        if (run.signal?.aborted) continue;
      }
      const it = state.iteration;
      // Keep the engine's prepared views within the window (or within the budget, by last use).
      const keep = schedule.resident(it);
      if (keep) for (const index of [...resident.keys()]) if (!keep.has(index)) await release(index);
      const index = schedule.pick(it);
      if (!resident.has(index)) {
        let held = [...resident.values()].reduce((s, r) => s + r.bytes, 0);
        const typical = held / Math.max(1, resident.size);
        while (resident.size > 0 && held + typical > o.listBudgetBytes) {
          const oldest = [...resident.entries()].sort((a, b) => a[1].lastUse - b[1].lastUse)[0]!;
          held -= oldest[1].bytes;
          await release(oldest[0]);
        }
      }
      const view = await loadView(index, it);
      const losses = await step(engine, graph, view, state, random, o, sinceReport.phases);
      if (!Number.isFinite(losses.guidance) || !Number.isFinite(losses.corr)) {
        throw new SagaError('NON_FINITE_VALUES', `The training loss is not a number at iteration ${it + 1} on view '${view.data.name}'. The last checkpoint is kept; train again with a lower learning rate, or prepare that view again.`, { iteration: it + 1, view: view.data.name });
      }
      state.iteration = it + 1;
      sinceReport.guidance += losses.guidance;
      sinceReport.corr += losses.corr;
      sinceReport.n++;
      const now = performance.now();
      if (now - lastReport >= 100 || state.iteration === o.iterations) {
        const measured = (sinceReport.n * 1000) / Math.max(1e-3, now - lastReport);
        rate = rate === undefined ? measured : 0.8 * rate + 0.2 * measured;
        run.onProgress?.({
          stage: 'train',
          iteration: state.iteration,
          iterations: o.iterations,
          losses: { guidance: sinceReport.guidance / sinceReport.n, corr: sinceReport.corr / sinceReport.n },
          iterationsPerSecond: rate,
          etaSeconds: Math.round((o.iterations - state.iteration) / rate),
          phases: Object.fromEntries(Object.entries(sinceReport.phases).map(([k, v]) => [k, v / sinceReport.n])) as unknown as StepPhases,
        });
        sinceReport = { guidance: 0, corr: 0, n: 0, phases: { ...NO_PHASES } };
        lastReport = now;
      }
      if (state.iteration % o.checkpointEvery === 0 && state.iteration < o.iterations) await checkpoint();
    }
    await checkpoint();
    return state;
  } finally {
    await graph.close();
    for (const r of resident.values()) {
      await engine.releaseView(r.engineView).catch((e: unknown) => {
        // The engine may be gone (crashed or closed); its views went with it.
        void e;
      });
    }
  }
}

/** One iteration on `view`: losses and gradients, the engine's feature step, the MLP's step. */
async function step(engine: TrainingEngine, graph: StepGraph, view: Resident, state: TrainState, random: Mulberry32, o: TrainOptions, phases: StepPhases): Promise<TrainLosses> {
  const v = view.data;
  const D = o.dim;
  const P = v.width * v.height;
  const t0 = performance.now();
  // Draw every pixel the step uses first: the engine renders features at those pixels only.
  const guidancePixels = o.guidance ? samplePixels(random, v, Math.min(o.guidancePixels, P), o.maskSampling) : new Uint32Array(0);
  const masks = o.guidance ? sampleMasks(random, v.masks, o.maxMasks) : new Uint32Array(0);
  const corrPixels = o.correspondence ? samplePixels(random, v, Math.min(o.corrPixels, P), o.maskSampling) : new Uint32Array(0);
  const Ps = guidancePixels.length;
  const S = corrPixels.length;
  const pixels = new Uint32Array(Ps + S);
  pixels.set(guidancePixels);
  pixels.set(corrPixels, Ps);
  const t1 = performance.now();
  const rendered = await engine.forwardPixels(view.engineView, pixels);
  const t2 = performance.now();
  let inputs: Parameters<StepGraph['run']>[0] = { lambda: o.lambda };
  const { membership, words } = v;
  if (o.guidance) {
    const K = masks.length;
    const C = v.sam!.cells;
    // targets[a][j]: is sampled pixel j in selected mask a (mask-major, as the graph takes them).
    const targets = new Uint8Array(K * Ps);
    for (let a = 0; a < K; a++) {
      const k = masks[a]!;
      const word = k >> 5;
      const bit = k & 31;
      const row = a * Ps;
      for (let j = 0; j < Ps; j++) targets[row + j] = (membership[guidancePixels[j]! * words + word]! >>> bit) & 1;
    }
    const cellWeights = new Float32Array(K * C);
    for (let a = 0; a < K; a++) cellWeights.set(v.cellWeights!.subarray(masks[a]! * C, masks[a]! * C + C), a * C);
    inputs = { ...inputs, sam: v.sam!.data, cells: C, cellWeights, masks: K, features: rendered.subarray(0, Ps * D), targets, pixels: Ps, params: state.mlp };
  }
  if (o.correspondence) {
    const K = v.masks;
    // membership[i][k] as bytes: unpack each sampled pixel's bitset.
    const rows = new Uint8Array(S * K);
    for (let i = 0; i < S; i++) {
      const base = corrPixels[i]! * words;
      for (let w = 0; w < words; w++) {
        let bits = membership[base + w]!;
        while (bits) {
          const low = bits & -bits;
          rows[i * K + w * 32 + 31 - Math.clz32(low)] = 1;
          bits ^= low;
        }
      }
    }
    inputs = { ...inputs, corrFeatures: rendered.subarray(Ps * D), membership: rows, corrPixels: S };
  }
  const t3 = performance.now();
  const out = await graph.run(inputs);
  const t4 = performance.now();
  const grad = new Float32Array((Ps + S) * D);
  if (out.dFeatures) grad.set(out.dFeatures);
  if (out.dCorrFeatures) grad.set(out.dCorrFeatures, Ps * D);
  await engine.backwardPixels(view.engineView, pixels, grad, true);
  const t5 = performance.now();
  await engine.adamStep({ lr: o.lr, eps: 1e-15 });
  if (out.dParams) adamStep(state.mlp, out.dParams, state.mlpAdam, { lr: o.lr, eps: 1e-15 });
  const t6 = performance.now();
  phases.forward += t2 - t1;
  phases.sample += t1 - t0 + (t3 - t2);
  phases.losses += t4 - t3;
  phases.backward += t5 - t4;
  phases.adam += t6 - t5;
  return { guidance: out.lossGuidance, corr: out.lossCorr };
}

/**
 * `n` pixel indices of the view, with replacement (duplicates add their gradients): a share
 * `byMask` drawn from a random mask's pixels, the rest uniformly.
 */
function samplePixels(random: Mulberry32, view: TrainingView, n: number, byMask: number): Uint32Array {
  const pixels = view.width * view.height;
  const out = new Uint32Array(n);
  const masked = Math.round(n * byMask);
  for (let i = 0; i < masked; i++) {
    const k = random.below(view.masks);
    const from = view.maskStart[k]!;
    out[i] = view.maskPixels[from + random.below(view.maskStart[k + 1]! - from)]!;
  }
  for (let i = masked; i < n; i++) out[i] = random.below(pixels);
  return out;
}

/** All masks, or `max` of them drawn without replacement. */
function sampleMasks(random: Mulberry32, masks: number, max: number): Uint32Array {
  const all = Uint32Array.from({ length: masks }, (_, k) => k);
  if (masks <= max) return all;
  for (let i = 0; i < max; i++) {
    const j = i + random.below(masks - i);
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, max);
}
