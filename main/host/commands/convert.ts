import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import { SagaError } from '../../contract/errors.ts';
import { type Command, parseCommandArgs } from '../command.ts';
import { convertScene } from '../../scene/convert.ts';
import { outputFormatFor } from '../../scene/io.ts';
import { parseNonFinite } from './info.ts';

const HELP = `Usage: saga-studio convert <input> <output> [--force] [--non-finite reject|keep]

Converts a Gaussian splat scene between formats. The input format is detected from its content;
the output format follows the output file's extension:
  .ply    3DGS PLY (INRIA layout, binary little endian). All properties are kept, in the input's
          order when the input is a PLY: converting a PLY to PLY reproduces its data exactly.
  .splat  antimatter15 .splat (8-bit colour, opacity and rotation; no higher SH, no extras)
  .spz    Niantic .spz version 3 (gzip; quantised; no extras)
Inputs: 3DGS PLY (binary or ASCII), PlayCanvas compressed PLY, .splat, .spz (versions 2-4, gzip or ZSTD).

A binary 3DGS PLY converted to .ply or .splat is streamed (memory stays at a few megabytes whatever
the scene's size); other inputs are read whole. The output is written to a temporary file and
renamed when complete: a failed conversion leaves no partial file, and an existing output is only
replaced with --force.

Options:
  --force                replace the output file if it exists
  --non-finite <policy>  reject (default): refuse inputs holding NaN/Inf values; keep: convert them as they are
  -h, --help             show this help

Exit status: 0 on success; 1 on a failure (one line on stderr says why); 2 on bad usage.

Examples:
  saga-studio convert scene.compressed.ply scene.ply
  saga-studio convert point_cloud.ply scene.splat
`;

const convert: Command = {
  name: 'convert',
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs('convert', args, {
      force: { type: 'boolean' },
      'non-finite': { type: 'string' },
    });
    if (positionals.length !== 2) {
      throw new SagaError('BAD_ARGUMENT', `expected an input and an output file, got ${positionals.length} argument(s). See 'saga-studio convert --help'.`);
    }
    const [input, output] = positionals as [string, string];
    const policy = parseNonFinite(values['non-finite'], 'reject', 'convert');
    if (policy === 'report') throw new SagaError('BAD_ARGUMENT', "--non-finite for convert is reject or keep. See 'saga-studio convert --help'.");
    if (resolve(input) === resolve(output)) {
      throw new SagaError('BAD_ARGUMENT', 'the output must be a different file from the input (the source scene is never modified).');
    }
    // Check the output extension before spending time on the read.
    outputFormatFor(output);
    if (!values.force) {
      const exists = await access(output).then(() => true, () => false);
      if (exists) throw new SagaError('BAD_ARGUMENT', `${output} already exists. Pass --force to replace it.`);
    }
    const started = performance.now();
    const result = await convertScene(input, output, { nonFinite: policy });
    const ms = performance.now() - started;
    io.stdout(`Wrote ${result.count.toLocaleString('en-US')} Gaussians (SH degree ${result.shDegree}) to ${output} as ${outputFormatFor(output)} in ${ms.toFixed(0)} ms\n`);
    return 0;
  },
};

export default convert;
