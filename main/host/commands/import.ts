import { resolve } from 'node:path';
import { parseCommandArgs, type Command } from '../command.ts';
import { resolveProjectSource } from '../../project/source.ts';
import { createProject, isProjectDir } from '../../project/store.ts';
import { SagaError } from '../../contract/errors.ts';

const help = `Usage: saga-studio import <scene file | 3DGS output folder> --project <dir> [--images <dir>] [--name <name>]

Creates a project folder from a trained scene. The source may be a scene file (.ply, compressed
.ply, .splat, .spz), a gaussian-splatting output folder (point_cloud/iteration_<N>/, cameras.json),
or a folder holding one scene file, cameras.json and images/. The scene and images are referenced,
never copied or modified.

Options:
  --project DIR   The project folder to create (must not hold a project already)
  --images DIR    The training images, when they are not where the source implies
  --name NAME     Project name (default: the folder name)
`;

const importCommand: Command = {
  name: 'import',
  help,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs('import', args, {
      project: { type: 'string' },
      images: { type: 'string' },
      name: { type: 'string' },
    });
    if (positionals.length !== 1) {
      throw new SagaError('BAD_ARGUMENT', `Give exactly one scene file or output folder to import (got ${positionals.length}). See 'saga-studio import --help'.`);
    }
    if (!values.project) throw new SagaError('BAD_ARGUMENT', "Give the project folder to create with --project <dir>. See 'saga-studio import --help'.");
    const projectDir = resolve(values.project);
    // Refuse before reading a possibly large scene for nothing.
    if (isProjectDir(projectDir)) throw new SagaError('PROJECT_EXISTS', `${projectDir} already holds a project. Open it instead, or choose an empty folder.`, { dir: projectDir });
    const resolved = await resolveProjectSource(positionals[0]!, values.images ? { images: values.images } : {});
    const project = createProject(projectDir, { source: resolved.source, ...(values.name ? { name: values.name } : {}) });
    try {
      const info = project.info();
      const s = resolved.source;
      const lines = [
        `Created project '${info.name}' in ${project.dir}`,
        `  scene:  ${s.scenePath}`,
        `          ${s.format}, ${s.count} splats, SH degree ${s.shDegree}, sha256 ${s.checksum}`,
        `  views:  ${info.views.length}${s.imagesDir ? ` (images in ${s.imagesDir})` : ''}`,
        `  missing images: ${resolved.missingImages.length}${resolved.missingImages.length ? ` (${resolved.missingImages.slice(0, 5).join(', ')}${resolved.missingImages.length > 5 ? ', ...' : ''})` : ''}`,
        ...resolved.warnings.map((w) => `  note: ${w}`),
      ];
      io.stdout(lines.join('\n') + '\n');
    } finally {
      project.close();
    }
    return 0;
  },
};

export default importCommand;
