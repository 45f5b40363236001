import { SagaError } from '../../contract/errors.ts';
import { ProjectEditor } from '../../project/editor.ts';
import { planExport, readProjectScene, writeExport } from '../../project/export.ts';
import { openProject } from '../../project/store.ts';
import { type Command, parseCommandArgs } from '../command.ts';

const HELP = `Usage: saga-studio export --project <dir> --out <file.ply|.splat|.spz> [--layer <name>] [--include-hidden] [--features] [--force] [--replace-source]

Saves a project's edited scene: the Gaussians that are shown and not deleted, as edited in the app
(the same project folder; edits made there are seen here). The format follows the extension:
  .ply    3DGS PLY (INRIA layout): every property of the source scene, each kept row bit for bit
  .splat  antimatter15 .splat (8-bit colour, opacity and rotation; no higher SH)
  .spz    Niantic .spz version 3 (quantised)
The file is written under a temporary name and renamed when complete.

Options:
  --project <dir>    the project folder
  --out <file>       the file to write
  --layer <name>     only this layer's Gaussians (hidden or not as a layer; hidden one by one stay out)
  --include-hidden   also write hidden Gaussians (deleted ones never)
  --features         add the trained SAGA features as float properties f_feat_0..f_feat_<dim-1> (.ply)
  --force            replace the output file if it exists
  --replace-source   allow writing over the project's own source scene (the project then no longer
                     matches its scene and cannot be opened with its edits)
  -h, --help         show this help

Exit status: 0 on success; 1 on a failure (one line on stderr says why); 2 on bad usage.

Examples:
  saga-studio export --project chair-project --out chair-clean.ply
  saga-studio export --project chair-project --layer Chair --features --out chair.ply
`;

const exportCommand: Command = {
  name: 'export',
  help: HELP,
  async run(args, io) {
    const { values } = parseCommandArgs(
      'export',
      args,
      {
        project: { type: 'string' },
        out: { type: 'string' },
        layer: { type: 'string' },
        'include-hidden': { type: 'boolean' },
        features: { type: 'boolean' },
        force: { type: 'boolean' },
        'replace-source': { type: 'boolean' },
      },
      false,
    );
    if (!values.project) throw new SagaError('BAD_ARGUMENT', "Give the project folder with --project <dir>. See 'saga-studio export --help'.");
    if (!values.out) throw new SagaError('BAD_ARGUMENT', "Give the file to write with --out <file.ply|.splat|.spz>. See 'saga-studio export --help'.");
    const started = performance.now();
    // Reads only: it may run while the app has the project open (saving what the app committed).
    const project = openProject(values.project, { access: 'read' });
    try {
      const editor = ProjectEditor.open(project);
      const layer = values.layer === undefined ? undefined : layerNamed(editor, values.layer);
      const plan = await planExport(project, editor, {
        path: values.out,
        ...(layer !== undefined ? { layer } : {}),
        ...(values['include-hidden'] ? { includeHidden: true } : {}),
        ...(values.features ? { features: true } : {}),
        ...(values.force ? { overwrite: true } : {}),
        ...(values['replace-source'] ? { replaceSource: true } : {}),
      });
      const scene = await readProjectScene(project);
      const summary = await writeExport(scene, plan);
      const what = layer !== undefined ? `layer "${values.layer}"` : 'the edited scene';
      const features = summary.featureDim > 0 ? ` with ${summary.featureDim} feature channels` : '';
      io.stdout(`Wrote ${what}: ${summary.count.toLocaleString('en-US')} of ${scene.count.toLocaleString('en-US')} Gaussians${features} to ${summary.path} (${summary.format}, ${(summary.bytes / 1e6).toFixed(1)} MB) in ${(performance.now() - started).toFixed(0)} ms\n`);
      return 0;
    } finally {
      project.close();
    }
  },
};

/** The id of the layer called `name`: exact match first, then the only one matching without case. */
function layerNamed(editor: ProjectEditor, name: string): number {
  const layers = editor.summary().layers;
  const exact = layers.filter((l) => l.name === name);
  const loose = exact.length > 0 ? exact : layers.filter((l) => l.name.toLowerCase() === name.toLowerCase());
  if (loose.length === 1) return loose[0]!.id;
  const names = layers.map((l) => `"${l.name}"`).join(', ');
  if (loose.length > 1) throw new SagaError('BAD_ARGUMENT', `${loose.length} layers are called "${name}". Rename one in the app first.`);
  throw new SagaError('BAD_ARGUMENT', layers.length === 0 ? `The project has no layers, so there is no layer "${name}". Leave out --layer to save the whole edited scene.` : `The project has no layer "${name}". Its layers: ${names}.`);
}

export default exportCommand;
