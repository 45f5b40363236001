import { SagaError } from '../../contract/errors.ts';
import { parseCommandArgs, type Command } from '../command.ts';
import { SYNTH_KINDS, type SynthKind } from '../../engine/synth/generate.ts';
import { DEFAULT_ORACLE_OPTIONS, type OracleMaskOptions } from '../../engine/synth/oracle-masks.ts';

const help = `Usage: saga-studio synth --out <dir> [options]

Generates a synthetic 3DGS scene with ground truth, written as a 3DGS training output folder:
point_cloud/iteration_30000/point_cloud.ply (with object_id and part_id), cameras.json, images/,
labels/ (16-bit PNG, object id per pixel, 0 = background), part-labels/, prompts.json, truth.json,
and oracle automatic masks in masks/<view>/<k>.png (non-zero = inside) with oracle-masks.json.

Options:
  --out <dir>           output folder (new or empty; --force replaces it)
  --seed <n>            random seed (default 1); the same seed gives the same bytes
  --gaussians <n>       Gaussian budget (default 20000)
  --views <n>           number of views on the orbit (default 12)
  --size <WxH>          image size (default 192x144)
  --kind <k>            scene layout: ${SYNTH_KINDS.join(', ')} (default tabletop)
  --no-masks            do not write oracle masks
  --mask-miss <p>       oracle: probability a mask is missed (default ${DEFAULT_ORACLE_OPTIONS.miss})
  --mask-merge <p>      oracle: probability two touching objects come as one mask (default ${DEFAULT_ORACLE_OPTIONS.merge})
  --mask-jitter <px>    oracle: boundary warp amplitude in pixels (default ${DEFAULT_ORACLE_OPTIONS.boundaryJitter})
  --force               replace a non-empty output folder
  --json                print the summary as JSON
`;

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new SagaError('BAD_ARGUMENT', `${name} must be a whole number (got '${value}').`);
  return n;
}

function probability(name: string, value: string | undefined, fallback: number, max = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > max) throw new SagaError('BAD_ARGUMENT', `${name} must be a number between 0 and ${max} (got '${value}').`);
  return n;
}

export function parseSize(value: string | undefined, fallback: [number, number]): [number, number] {
  if (value === undefined) return fallback;
  const m = /^(\d+)x(\d+)$/i.exec(value.trim());
  if (!m) throw new SagaError('BAD_ARGUMENT', `--size must look like 192x144 (got '${value}').`);
  return [Number(m[1]), Number(m[2])];
}

const command: Command = {
  name: 'synth',
  help,
  async run(args, io) {
    const { values } = parseCommandArgs('synth', args, {
      out: { type: 'string' },
      seed: { type: 'string' },
      gaussians: { type: 'string' },
      views: { type: 'string' },
      size: { type: 'string' },
      kind: { type: 'string' },
      'no-masks': { type: 'boolean' },
      'mask-miss': { type: 'string' },
      'mask-merge': { type: 'string' },
      'mask-jitter': { type: 'string' },
      force: { type: 'boolean' },
      json: { type: 'boolean' },
    }, false);
    if (!values.out) throw new SagaError('BAD_ARGUMENT', "synth needs --out <dir>. See 'saga-studio synth --help'.");
    const kind = (values.kind ?? 'tabletop') as SynthKind;
    if (!SYNTH_KINDS.includes(kind)) throw new SagaError('BAD_ARGUMENT', `--kind must be one of ${SYNTH_KINDS.join(', ')} (got '${values.kind}').`);
    const [width, height] = parseSize(values.size, [192, 144]);
    const oracle: Partial<OracleMaskOptions> | false = values['no-masks']
      ? false
      : {
          miss: probability('--mask-miss', values['mask-miss'], DEFAULT_ORACLE_OPTIONS.miss),
          merge: probability('--mask-merge', values['mask-merge'], DEFAULT_ORACLE_OPTIONS.merge),
          boundaryJitter: probability('--mask-jitter', values['mask-jitter'], DEFAULT_ORACLE_OPTIONS.boundaryJitter, 20),
        };
    // Loaded here so that `--help` does not pay for the renderer and scene writers.
    const { writeSynthFolder } = await import('../../engine/synth/folder.ts');
    const started = performance.now();
    let lastStage = '';
    const result = await writeSynthFolder(values.out, {
      seed: positiveInt('--seed', values.seed, 1),
      gaussians: positiveInt('--gaussians', values.gaussians, 20000),
      views: positiveInt('--views', values.views, 12),
      width,
      height,
      kind,
      oracle,
      force: values.force ?? false,
      onProgress: (p) => {
        if (values.json) return;
        if (p.stage !== lastStage || p.done === p.total) io.stderr(`${p.stage} ${p.done}/${p.total}\n`);
        lastStage = p.stage;
      },
    });
    const summary = {
      out: result.dir,
      gaussians: result.synth.scene.count,
      objects: result.synth.truth.objects.length,
      views: result.views.length,
      prompts: result.prompts.length,
      oracleMasks: result.oracleMasks?.reduce((s, m) => s + m.length, 0) ?? 0,
      oracleMeanIoU: result.oracleMeanIoU,
      seconds: Math.round((performance.now() - started) / 100) / 10,
    };
    if (values.json) io.stdout(JSON.stringify(summary) + '\n');
    else {
      io.stdout(
        `Wrote ${summary.out}: ${summary.gaussians} Gaussians, ${summary.objects} objects, ${summary.views} views, ` +
          `${summary.prompts} prompts, ${summary.oracleMasks} oracle masks` +
          (summary.oracleMeanIoU !== undefined ? ` (mean IoU with truth ${summary.oracleMeanIoU.toFixed(3)})` : '') +
          ` in ${summary.seconds} s\n`,
      );
    }
    return 0;
  },
};

export default command;
