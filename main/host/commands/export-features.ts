import { SagaError } from '../../contract/errors.ts';
import { readTrainedFeatures } from '../../project/checkpoints.ts';
import { openProject } from '../../project/store.ts';
import { withFeatureProperties } from '../../scene/feature-properties.ts';
import { outputFormatFor, readScene, writeScene } from '../../scene/io.ts';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseCommandArgs, type Command } from '../command.ts';

const help = `Usage: saga-studio export-features --project <dir> --out <scene.ply> [--force]

Writes the project's scene with its trained per-Gaussian features as extra float properties
f_feat_0 .. f_feat_31 (as the official SAGA code's contrastive_feature_point_cloud.ply), every
original property kept. Other tools can read the features; 'saga-studio render --features pca'
shows them. The source scene is never modified.

Options:
  --project <dir>   the project folder (required); train it first ('saga-studio train')
  --out <file.ply>  the output PLY (written under a temporary name, then renamed)
  --force           replace an existing output file
`;

const command: Command = {
  name: 'export-features',
  help,
  async run(args, io) {
    const { values } = parseCommandArgs('export-features', args, {
      project: { type: 'string' },
      out: { type: 'string' },
      force: { type: 'boolean' },
    }, false);
    if (!values.project || !values.out) throw new SagaError('BAD_ARGUMENT', "export-features needs --project <dir> and --out <file.ply>. See 'saga-studio export-features --help'.");
    if (outputFormatFor(values.out) !== 'ply') {
      throw new SagaError('UNSUPPORTED_FORMAT', `${values.out}: features can only be stored in a .ply file (.splat and .spz have no room for extra properties).`);
    }
    // Reads only: it may run while the app has the project open.
    const project = openProject(values.project, { access: 'read' });
    try {
      const source = project.sceneSource();
      if (resolve(values.out) === resolve(source.scenePath)) {
        throw new SagaError('BAD_ARGUMENT', `${values.out} is the project's source scene, which is never overwritten. Choose another --out.`);
      }
      if (!values.force && existsSync(values.out)) throw new SagaError('BAD_ARGUMENT', `${values.out} already exists. Pass --force to replace it.`);
      const trained = readTrainedFeatures(project.dir, source.count);
      if (!trained) throw new SagaError('BAD_ARGUMENT', `${project.dir} has no trained features yet. Train them first: saga-studio train --project ${values.project}`);
      const scene = await readScene(source.scenePath);
      await writeScene(withFeatureProperties(scene, trained.features, trained.dim), values.out);
      io.stdout(`Wrote ${scene.count} Gaussians with ${trained.dim} trained features (iteration ${trained.iteration} of ${trained.iterations}) to ${values.out}\n`);
      return 0;
    } finally {
      project.close();
    }
  },
};

export default command;
