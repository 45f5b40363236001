import { writeDataAtomic } from '../../common/atomic-write.ts';
import { SagaError } from '../../contract/errors.ts';
import type { PointPrompt, Prompt } from '../../engine/segment/types.ts';
import { NO_POST, sagaSegment } from '../../engine/segment/saga.ts';
import { readMask } from '../../engine/eval/png.ts';
import { readProjectScene } from '../../project/export.ts';
import { openProject } from '../../project/store.ts';
import { writeSceneRows } from '../../scene/write-rows.ts';
import { parseCommandArgs, type Command } from '../command.ts';
import { loadSegmentData, projectViewVotes, promptCamera } from '../segment-service.ts';
import { runSamPrompt, SamPredictors } from '../sam-prompts.ts';
import { defaultModelsDir, ModelManager } from '../../engine/masks/models.ts';

const help = `Usage: saga-studio segment --project <dir> --view <name> <prompt> [--sam] --out <selection.json> [--ply <selected.ply>]

Selects the Gaussians of an object from a prompt in one of the project's training views, with
SAGA's segmentation on the project's trained features (run 'saga-studio train' first), and writes
the selection as JSON: {"indices": [...], "timings": {...}} (Gaussian rows in file order).

Prompt (one kind; pixel coordinates are column,row from the top-left of the view's image at its
own size):
  --point x,y,1|0          a click: 1 on the object, 0 on something to leave out (repeatable)
  --scribble "x,y;x,y;..." a stroke along the object
  --box x0,y0,x1,y1        a box around the object (x0 < x1, y0 < y1)
  --mask <file.png>        a 2D mask of the object (non-zero = inside), any size

Options:
  --project <dir>   the project folder (required)
  --view <name>     the training view the prompt is in (required)
  --no-post         skip the 3D post-processing (region growing, hysteresis growth, the multi-view
                    check against the other prepared views' masks, and ball-query growing where
                    that check cannot run); without it the prepared views are recorded first for
                    the check (seconds at 1M Gaussians)
  --out <file>      where to write selection.json (required)
  --ply <file>      also write the selected Gaussians with all their properties (.ply, .splat, .spz)
  --sam             SAGA's SAM-based prompt, with --point or --box: SAM's decoder turns the clicks
                    or the box into a 2D mask on the view's image, and the SAM features under it
                    (through the projection trained with the features) give the queries. Needs the
                    views prepared with SAM ('saga-studio prepare --masks sam --model <id>') and
                    that model installed; see 'saga-studio prepare --list-models'
  --models-dir <dir>
                    where SAM models live (default: $SAGA_MODELS_DIR or
                    ~/.local/share/saga-studio/models)

  SAM-based prompt: the mask-averaged query is used when the rendered features agree with it on
  at least 90% of SAM's mask, otherwise k-means queries from the SAM features in the mask; each
  Gaussian scores its highest dot product with them, the threshold is mean + standard deviation,
  then region growing from the Gaussians inside SAM's mask and the multi-view check (--no-post skips
  both). selection.json's timings add "sam" (the decoder).
`;

function numbers(flag: string, text: string, count: number): number[] {
  const parts = text.split(',').map((p) => Number(p.trim()));
  if (parts.length !== count || parts.some((n) => !Number.isFinite(n))) {
    throw new SagaError('BAD_ARGUMENT', `--${flag} takes ${count} comma-separated numbers (got '${text}').`);
  }
  return parts;
}

function promptFrom(values: { point?: string[]; scribble?: string; box?: string; mask?: string }, mask: { width: number; height: number; data: Uint8Array } | undefined): Prompt {
  const given = [values.point?.length ? 'point' : '', values.scribble ? 'scribble' : '', values.box ? 'box' : '', values.mask ? 'mask' : ''].filter(Boolean);
  if (given.length !== 1) throw new SagaError('BAD_ARGUMENT', `Give exactly one prompt kind (--point, --scribble, --box or --mask); got ${given.length ? given.join(' and ') : 'none'}.`);
  if (values.point?.length) {
    const points: PointPrompt[] = values.point.map((p) => {
      const [x, y, label] = numbers('point', p, 3) as [number, number, number];
      if (label !== 0 && label !== 1) throw new SagaError('BAD_ARGUMENT', `--point ${p}: the label is 1 (on the object) or 0 (leave out).`);
      return { x, y, label };
    });
    return { kind: 'points', points };
  }
  if (values.scribble) {
    const points = values.scribble.split(';').filter((s) => s.trim()).map((p) => {
      const [x, y] = numbers('scribble', p, 2) as [number, number];
      return { x, y, label: 1 as const };
    });
    if (points.length === 0) throw new SagaError('BAD_ARGUMENT', '--scribble needs at least one point "x,y".');
    return { kind: 'scribble', points };
  }
  if (values.box) return { kind: 'box', box: numbers('box', values.box, 4) as [number, number, number, number] };
  return { kind: 'mask', mask: mask! };
}

const command: Command = {
  name: 'segment',
  help,
  async run(args, io) {
    const { values } = parseCommandArgs('segment', args, {
      project: { type: 'string' },
      view: { type: 'string' },
      point: { type: 'string', multiple: true },
      scribble: { type: 'string' },
      box: { type: 'string' },
      mask: { type: 'string' },
      sam: { type: 'boolean' },
      'models-dir': { type: 'string' },
      'no-post': { type: 'boolean' },
      out: { type: 'string' },
      ply: { type: 'string' },
    }, false);
    if (!values.project || !values.view || !values.out) throw new SagaError('BAD_ARGUMENT', "segment needs --project <dir>, --view <name> and --out <selection.json>. See 'saga-studio segment --help'.");
    const mask = values.mask ? await readMask(values.mask) : undefined;
    const prompt = promptFrom(values, mask);
    if (values.sam && prompt.kind !== 'points' && prompt.kind !== 'box') {
      throw new SagaError('BAD_ARGUMENT', `--sam takes --point or --box (SAM's decoder prompts); a ${prompt.kind} prompt goes without --sam.`);
    }
    const project = openProject(values.project, { access: 'read' });
    try {
      const t0 = performance.now();
      const scene = await readProjectScene(project);
      const { camera, viewMasks } = promptCamera(project, values.view, undefined);
      const loaded = loadSegmentData(project, scene);
      // The multi-view check's recording of the prepared views (seconds at 1M Gaussians); --no-post skips the check.
      const viewVotes = values['no-post'] ? undefined : await projectViewVotes(project, scene);
      const data = viewVotes ? { ...loaded, viewVotes } : loaded;
      const t1 = performance.now();
      const noPost = { post: NO_POST };
      let result;
      if (values.sam) {
        const models = new ModelManager({ modelsDir: values['models-dir'] ?? defaultModelsDir() });
        const predictors = new SamPredictors(() => models);
        try {
          result = await runSamPrompt({ project, data, camera, view: values.view, prompt, predictors, ...(values['no-post'] ? { options: noPost } : {}) });
        } finally {
          await predictors.close();
        }
      } else {
        result = sagaSegment({
          scene, camera, prompt, unit: data.unit, dim: data.dim, probe: data.probe, index: data.index,
          ...(viewMasks ? { viewMasks } : {}),
          ...(data.viewVotes ? { viewVotes: data.viewVotes } : {}),
          ...(values['no-post'] ? { options: noPost } : {}),
        });
      }
      const indices: number[] = [];
      for (let g = 0; g < result.selection.length; g++) if (result.selection[g]) indices.push(g);
      const timings = { load: t1 - t0, ...result.timings };
      await writeDataAtomic(values.out, JSON.stringify({ indices, timings: Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v * 100) / 100])) }) + '\n');
      if (values.ply) {
        if (indices.length === 0) throw new SagaError('EMPTY_SCENE', `The prompt selected no Gaussian, so there is nothing to write to ${values.ply}; ${values.out} lists none.`);
        await writeSceneRows(scene, Uint32Array.from(indices), values.ply);
      }
      io.stdout(`Selected ${indices.length} of ${scene.count} Gaussians in ${result.timings ? Object.values(result.timings).reduce((a, b) => a + b, 0).toFixed(0) : '?'} ms; wrote ${values.out}${values.ply ? ` and ${values.ply}` : ''}\n`);
      return 0;
    } finally {
      project.close();
    }
  },
};

export default command;
