import { stat } from 'node:fs/promises';
import { SagaError } from '../../contract/errors.ts';
import { type Command, parseCommandArgs } from '../command.ts';
import { readScene } from '../../scene/io.ts';
import { resolveScenePath } from '../../scene/scene-folder.ts';
import type { NonFinitePolicy } from '../../scene/read-options.ts';
import { describeScene, formatSceneInfo } from '../../scene/scene-info.ts';

const HELP = `Usage: saga-studio info <scene-file | folder> [--json] [--non-finite report|reject|keep]

Reads a Gaussian splat scene and prints what it holds: format, number of Gaussians, SH degree,
the per-Gaussian properties (in file order for a PLY), the bounding box of the centres and how
many Gaussians hold NaN or infinite values. A folder stands for its scene: a 3DGS training
output's latest point_cloud/iteration_<N>/point_cloud.ply, or a folder's one scene file.

Formats (detected from the file's first bytes and extension):
  .ply    3DGS training output (INRIA layout; binary little/big endian or ASCII; SH degree 0-3;
          extra properties such as normals are listed and kept)
  .ply    PlayCanvas / SuperSplat compressed PLY (with or without SH)
  .splat  antimatter15 .splat (32 bytes per Gaussian)
  .spz    Niantic .spz, versions 2-4 (gzip, and the ZSTD container of version 4)

Options:
  --json                 print one JSON object instead of text
  --non-finite <policy>  report (default): count NaN/Inf values; reject: fail if any; keep: skip the check
  -h, --help             show this help

Exit status: 0 on success; 1 if the file cannot be read (one line on stderr says why); 2 on bad usage.

Examples:
  saga-studio info point_cloud/iteration_30000/point_cloud.ply
  saga-studio info scene.splat --json
  saga-studio info output/garden
`;

export function parseNonFinite(value: string | undefined, fallback: NonFinitePolicy, command: string): NonFinitePolicy {
  if (value === undefined) return fallback;
  if (value === 'report' || value === 'reject' || value === 'keep') return value;
  throw new SagaError('BAD_ARGUMENT', `--non-finite must be report, reject or keep (got '${value}'). See 'saga-studio ${command} --help'.`);
}

const info: Command = {
  name: 'info',
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs('info', args, {
      json: { type: 'boolean' },
      'non-finite': { type: 'string' },
    });
    if (positionals.length !== 1) {
      throw new SagaError('BAD_ARGUMENT', `expected exactly one scene file, got ${positionals.length}. See 'saga-studio info --help'.`);
    }
    const path = await resolveScenePath(positionals[0]!);
    const nonFinite = parseNonFinite(values['non-finite'], 'report', 'info');
    const scene = await readScene(path, { nonFinite });
    const fileBytes = (await stat(path)).size;
    const summary = describeScene(scene, fileBytes);
    if (values.json) io.stdout(JSON.stringify(summary, null, 2) + '\n');
    else io.stdout(formatSceneInfo(summary));
    return 0;
  },
};

export default info;
