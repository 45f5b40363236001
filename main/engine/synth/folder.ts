/**
 * Writes a synthetic scene as a normal 3DGS training output folder plus its ground truth:
 *
 *   point_cloud/iteration_30000/point_cloud.ply   INRIA PLY with int `object_id` and `part_id`
 *   cameras.json                                  INRIA cameras (views on an orbit)
 *   images/<view>.png                             8-bit RGB renders (our reference rasterizer)
 *   labels/<view>.png                             16-bit grey: object id per pixel, 0 = background
 *   part-labels/<view>.png                        16-bit grey: part id per pixel, 0 = background
 *   masks/<view>/<k>.png                          oracle automatic masks (imported-masks format), largest first
 *   oracle-masks.json                             what each oracle mask stands for, and its IoU with the truth
 *   prompts.json                                  one prompt per visible object (see eval/types.ts)
 *   truth.json                                    objects, parts, generator settings
 *
 * Everything is written into a temporary sibling folder that is renamed into place at the end, so a
 * failed or cancelled run leaves nothing behind.
 */
import { mkdir, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SagaError } from '../../contract/errors.ts';
import { writeInriaCameras } from '../../scene/cameras/inria.ts';
import { writeScene } from '../../scene/io.ts';
import type { BlendRasterizer } from '../eval/rasterizer.ts';
import { referenceRasterizer } from '../eval/rasterizer.ts';
import { encodeLabels, encodeMask, encodeRgb } from '../eval/png.ts';
import type { EvalPrompt, ProgressCallback, PromptsFile } from '../eval/types.ts';
import { generateSynthScene, type SynthKind, type SynthScene } from './generate.ts';
import { DEFAULT_ORACLE_OPTIONS, oracleMasksForView, oracleNoiseSummary, type OracleMask, type OracleMaskOptions } from './oracle-masks.ts';
import { promptsFromTruth } from './prompts.ts';
import { createRandom } from './random.ts';
import { renderTruthView, synthCameras, type TruthView } from './views.ts';

export interface SynthFolderOptions {
  seed: number;
  gaussians: number;
  views: number;
  width: number;
  height: number;
  kind: SynthKind;
  /** Oracle mask settings; `false` writes no masks. The oracle's seed is derived from `seed` unless given. */
  oracle?: Partial<OracleMaskOptions> | false;
  /** Replace an existing non-empty output folder. */
  force?: boolean;
  rasterizer?: BlendRasterizer;
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
}

export interface SynthFolderResult {
  dir: string;
  synth: SynthScene;
  views: TruthView[];
  prompts: EvalPrompt[];
  oracleMasks?: OracleMask[][];
  /** Mean IoU of the oracle's object/part/group masks with the clean label maps. */
  oracleMeanIoU?: number;
}

export const SYNTH_ITERATION_DIR = join('point_cloud', 'iteration_30000');
export const TRUTH_LABEL_ENCODING = '16-bit greyscale PNG, pixel value = object id (part id in part-labels/), 0 = background';

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new SagaError('CANCELLED', 'Generating the synthetic scene was cancelled; nothing was written.');
}

async function statIfExists(path: string) {
  return stat(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
}

async function prepareTarget(out: string, force: boolean): Promise<void> {
  const info = await statIfExists(out);
  if (!info) return;
  if (!info.isDirectory()) throw new SagaError('BAD_ARGUMENT', `${out} exists and is not a folder. Choose another --out.`);
  const entries = await readdir(out);
  if (entries.length > 0 && !force) {
    throw new SagaError('BAD_ARGUMENT', `${out} is not empty. Choose an empty or new folder, or pass --force to replace it.`);
  }
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 1) + '\n';
}

/** Generates, renders and writes a synthetic scene folder. Deterministic for the same options. */
export async function writeSynthFolder(outDir: string, options: SynthFolderOptions): Promise<SynthFolderResult> {
  const out = resolve(outDir);
  const rasterizer = options.rasterizer ?? referenceRasterizer;
  const { signal, onProgress } = options;
  if (!Number.isInteger(options.views) || options.views < 2) throw new SagaError('BAD_ARGUMENT', `--views must be a whole number of at least 2 (got ${options.views}).`);
  if (!Number.isInteger(options.width) || !Number.isInteger(options.height) || options.width < 16 || options.height < 16 || options.width * options.height > 4096 * 4096) {
    throw new SagaError('BAD_ARGUMENT', `--size must be WxH with each side at least 16 pixels (got ${options.width}x${options.height}).`);
  }
  await prepareTarget(out, options.force ?? false);
  checkAborted(signal);

  const synth = generateSynthScene({ seed: options.seed, gaussians: options.gaussians, kind: options.kind });
  const cameras = synthCameras(synth.truth, { views: options.views, width: options.width, height: options.height }, createRandom(options.seed).fork(0xca3e));
  const oracleOptions: OracleMaskOptions | undefined =
    options.oracle === false ? undefined : { ...DEFAULT_ORACLE_OPTIONS, seed: options.seed * 7919 + 17, ...(options.oracle ?? {}) };

  const temp = join(dirname(out), `.${basename(out)}.partial-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(join(temp, SYNTH_ITERATION_DIR), { recursive: true });
    for (const d of ['images', 'labels', 'part-labels']) await mkdir(join(temp, d));
    onProgress?.({ stage: 'scene', done: 0, total: 1 });
    await writeScene(synth.scene, join(temp, SYNTH_ITERATION_DIR, 'point_cloud.ply'));
    onProgress?.({ stage: 'scene', done: 1, total: 1 });

    const views: TruthView[] = [];
    const oracleMasks: OracleMask[][] = [];
    for (let v = 0; v < cameras.length; v++) {
      checkAborted(signal);
      const camera = { ...cameras[v]!, imagePath: `images/${cameras[v]!.name}.png` };
      const view = renderTruthView(synth.scene, synth.truth, camera, rasterizer);
      views.push(view);
      const { width: W, height: H, name } = camera;
      await writeFile(join(temp, 'images', `${name}.png`), encodeRgb(view.color, W, H));
      await writeFile(join(temp, 'labels', `${name}.png`), encodeLabels(view.objectLabels, W, H));
      await writeFile(join(temp, 'part-labels', `${name}.png`), encodeLabels(view.partLabels, W, H));
      if (oracleOptions) {
        const masks = oracleMasksForView({ name, width: W, height: H, objectLabels: view.objectLabels, partLabels: view.partLabels }, v, synth.truth.objects, synth.truth.parts, oracleOptions);
        oracleMasks.push(masks);
        await mkdir(join(temp, 'masks', name), { recursive: true });
        for (let k = 0; k < masks.length; k++) await writeFile(join(temp, 'masks', name, `${k}.png`), encodeMask(masks[k]!.data, W, H));
      }
      onProgress?.({ stage: 'render', done: v + 1, total: cameras.length });
      // Rendering is synchronous CPU work: give the event loop a turn between views.
      await new Promise<void>((r) => setImmediate(r));
    }
    await writeInriaCameras(views.map((v) => v.camera), join(temp, 'cameras.json'));

    const prompts = promptsFromTruth(
      synth.truth.objects,
      views.map((v) => ({ name: v.camera.name, width: v.camera.width, height: v.camera.height, objectLabels: v.objectLabels })),
    );
    const promptsFile: PromptsFile = { format: 'saga-studio-prompts', version: 1, prompts };
    await writeFile(join(temp, 'prompts.json'), promptsJson(promptsFile));

    let oracleMeanIoU: number | undefined;
    if (oracleOptions) {
      const summary = oracleNoiseSummary(oracleMasks.flat());
      oracleMeanIoU = summary.overall;
      await writeFile(
        join(temp, 'oracle-masks.json'),
        json({
          options: oracleOptions,
          meanIoUWithTruth: summary.overall,
          byKind: summary.byKind,
          views: Object.fromEntries(
            oracleMasks.map((masks, v) => [cameras[v]!.name, masks.map((m, k) => ({ file: `masks/${cameras[v]!.name}/${k}.png`, kind: m.kind, ids: m.ids, area: m.area, iouWithTruth: round(m.iouWithTruth) }))]),
          ),
        }),
      );
    }
    await writeFile(
      join(temp, 'truth.json'),
      json({
        generator: { seed: options.seed, gaussians: options.gaussians, kind: options.kind, views: options.views, width: options.width, height: options.height },
        labelEncoding: TRUTH_LABEL_ENCODING,
        backgroundId: 0,
        objects: synth.truth.objects,
        parts: synth.truth.parts,
      }),
    );
    checkAborted(signal);
    // prepareTarget allowed an existing folder only if empty or --force: clear it for the rename.
    if (options.force) await rm(out, { recursive: true, force: true });
    else if (await statIfExists(out)) await rmdir(out);
    await rename(temp, out);
    return { dir: out, synth, views, prompts, oracleMasks: oracleOptions ? oracleMasks : undefined, oracleMeanIoU };
  } catch (e) {
    await rm(temp, { recursive: true, force: true });
    throw e;
  }
}

/** One prompt per line: readable in a diff, and far shorter than one number per line. */
export function promptsJson(file: PromptsFile): string {
  const lines = file.prompts.map((p) => '  ' + JSON.stringify({ ...p, scribble: p.scribble.map(([x, y]) => [round2(x), round2(y)]) }));
  return `{"format": ${JSON.stringify(file.format)}, "version": ${file.version}, "prompts": [\n${lines.join(',\n')}\n]}\n`;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
