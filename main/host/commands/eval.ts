import { SagaError } from '../../contract/errors.ts';
import { parseCommandArgs, type Command } from '../command.ts';
import { PROMPT_KINDS, type PromptKind } from '../../engine/segment/types.ts';

const help = `Usage: saga-studio eval --project <dir> [--prompts <prompts.json>] [options]

Runs segmentation methods on each prompt and scores the selections against the ground truth:
3D IoU over Gaussians (object_id), and in every held-out view (all views but the prompt's) the
selection's rendered mask against the label map: 2D IoU and pixel accuracy, averaged over views
(NVOS-style mIoU / mAcc). Also reports the latency per prompt.

The folder is a 3DGS training output with ground truth, as 'saga-studio synth' writes it:
point_cloud/iteration_N/point_cloud.ply with object_id, cameras.json, labels/<view>.png and
automatic masks in masks/<view>/<k>.png.

Options:
  --project <dir>      the scene folder
  --prompts <file>     prompts (default <dir>/prompts.json)
  --method <names>     comma-separated methods (default single-view)
  --kind <kinds>       prompt forms, comma-separated: ${PROMPT_KINDS.join(', ')} (default points)
  --json               print the full report as JSON
`;

const command: Command = {
  name: 'eval',
  help,
  async run(args, io) {
    const { values } = parseCommandArgs('eval', args, {
      project: { type: 'string' },
      prompts: { type: 'string' },
      method: { type: 'string' },
      kind: { type: 'string' },
      json: { type: 'boolean' },
    }, false);
    if (!values.project) throw new SagaError('BAD_ARGUMENT', "eval needs --project <dir>. See 'saga-studio eval --help'.");
    const kinds = (values.kind ?? 'points').split(',').map((k) => k.trim()) as PromptKind[];
    for (const k of kinds) if (!PROMPT_KINDS.includes(k)) throw new SagaError('BAD_ARGUMENT', `--kind must be among ${PROMPT_KINDS.join(', ')} (got '${k}').`);
    const { loadEvalFolder } = await import('../../engine/eval/folder.ts');
    const { evaluate, formatMethodResult } = await import('../../engine/eval/evaluate.ts');
    const { methodsByName } = await import('../../engine/eval/methods.ts');
    const methods = methodsByName((values.method ?? 'single-view').split(',').map((m) => m.trim()));
    const { groundTruthFolder } = await import('../project-inputs.ts');
    const data = await loadEvalFolder(await groundTruthFolder(values.project), values.prompts);
    const report = await evaluate(data, {
      methods,
      kinds,
      onProgress: (p) => {
        if (!values.json && p.done === p.total) io.stderr(`${p.stage} ${p.done}/${p.total}\n`);
      },
    });
    if (values.json) io.stdout(JSON.stringify(report, null, 1) + '\n');
    else {
      io.stdout(`Scene ${report.scene}: ${report.gaussians} Gaussians, ${report.views} views, ${data.prompts.length} prompts\n\n`);
      for (const r of report.results) io.stdout(formatMethodResult(r) + '\n');
    }
    return 0;
  },
};

export default command;
