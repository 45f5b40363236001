import { existsSync, statSync } from 'node:fs';
import { SagaError } from '../../contract/errors.ts';
import { defaultModelsDir, ModelManager } from '../../engine/masks/models.ts';
import { encodeRgbPng } from '../../engine/masks/image.ts';
import { preparedContactSheet, type MaskSourceOption, type PrepareProgress } from '../../engine/masks/prepare.ts';
import { prepareProject, projectPrepareInput } from '../project-inputs.ts';
import { writeFileAtomicSync } from '../../common/atomic-write.ts';
import { parseCommandArgs, type Command } from '../command.ts';

const help = `Usage: saga-studio prepare --project <dir> [--masks sam|auto|<folder>] [--model <id|folder>] [options]

Extracts multi-granularity 2D masks and image features for every training view of a project and
caches them in <dir>/cache/prepare. Resumable: views already prepared with the same inputs are
skipped, so an interrupted run continues where it stopped.

Mask sources:
  auto       built-in classical segmentation (default without --model): no download, nested masks
             at five granularities and classical image features. Good enough to try SAGA; install a
             SAM model for real results.
  sam        Segment Anything automatic masks (32x32 point grid, IoU 0.88, stability 0.95, NMS 0.7,
             min area 100) and SAM image embeddings. Needs --model.
  <folder>   imported masks: <folder>/<image-stem>/<k>.png, non-zero = inside (no features).

Options:
  --project <dir>       the project folder (required)
  --masks <source>      sam, auto or a folder (default: sam when --model is given, else auto)
  --model <id|folder>   a registry model id (see --list-models) or a folder holding one
                        *encoder*.onnx and one *decoder*.onnx (default with --masks sam: the
                        first installed model)
  --download            download the registry model if it is not installed yet (resumable)
  --models-dir <dir>    where models live (default: $SAGA_MODELS_DIR or ~/.local/share/saga-studio/models)
  --list-models         list the known models and whether they are installed, then exit
  --force               recompute every view
  --contact-sheet <png> write a picture of the masks of the first 8 views (one row per view, one
                        column per granularity level) to check them
  --json                print the result as JSON on stdout
`;

function formatEta(seconds: number | undefined): string {
  if (seconds === undefined) return '';
  if (seconds < 90) return `, ETA ${seconds} s`;
  return `, ETA ${Math.round(seconds / 60)} min`;
}

const command: Command = {
  name: 'prepare',
  help,
  async run(args, io) {
    const { values } = parseCommandArgs(
      'prepare',
      args,
      {
        project: { type: 'string' },
        masks: { type: 'string' },
        model: { type: 'string' },
        download: { type: 'boolean' },
        'models-dir': { type: 'string' },
        'list-models': { type: 'boolean' },
        force: { type: 'boolean' },
        'contact-sheet': { type: 'string' },
        json: { type: 'boolean' },
      },
      false,
    );
    const models = new ModelManager({ modelsDir: values['models-dir'] ?? defaultModelsDir() });
    if (values['list-models']) {
      for (const { model, installed } of models.list()) {
        const size = (model.archive?.sizeBytes ?? (model.encoder.sizeBytes ?? 0) + (model.decoder.sizeBytes ?? 0)) / 1e6;
        io.stdout(`${model.id.padEnd(22)} ${installed ? 'installed    ' : model.supported ? 'not installed' : 'unsupported  '} ${size ? `${size.toFixed(0)} MB`.padStart(7) : '      ?'}  ${model.name}\n`);
      }
      io.stdout(`Models folder: ${models.modelsDir}\n`);
      return 0;
    }
    if (!values.project) throw new SagaError('BAD_ARGUMENT', "--project <dir> is required. See 'saga-studio prepare --help'.");
    const kind = values.masks ?? (values.model ? 'sam' : 'auto');
    let masks: MaskSourceOption;
    if (kind === 'auto') {
      if (values.model) throw new SagaError('BAD_ARGUMENT', '--model needs --masks sam (the built-in default uses no model).');
      masks = { kind: 'auto' };
    } else if (kind === 'sam') {
      // Without --model, the first installed model (recommended ones first) is used.
      const installed = models.list().filter((m) => m.installed && m.model.supported).sort((a, b) => Number(b.model.recommended ?? false) - Number(a.model.recommended ?? false));
      const modelId = values.model ?? installed[0]?.model.id;
      if (!modelId) {
        throw new SagaError('BAD_ARGUMENT', "--masks sam needs --model <id|folder>: no SAM model is installed. See 'saga-studio prepare --list-models'; the recommended model is sam_vit_b_quantized (add --download).");
      }
      values.model = modelId;
      const known = models.registry.some((m) => m.id === modelId);
      if (known && values.download && !models.isInstalled(modelId)) {
        let lastPercent = -1;
        await models.install(modelId, {
          onProgress: (p) => {
            const percent = p.total ? Math.floor((100 * p.done) / p.total) : 0;
            if (percent !== lastPercent && percent % 5 === 0) {
              lastPercent = percent;
              io.stderr(`downloading ${p.file}: ${percent}% (${(p.done / 1e6).toFixed(1)} of ${(p.total / 1e6).toFixed(1)} MB)\n`);
            }
          },
        });
      }
      masks = { kind: 'sam', model: models.resolve(modelId) };
    } else {
      if (!existsSync(kind) || !statSync(kind).isDirectory()) {
        throw new SagaError('BAD_ARGUMENT', `--masks must be sam, auto or a folder of imported masks; '${kind}' is none of these.`);
      }
      masks = { kind: 'imported', folder: kind };
    }

    const ac = new AbortController();
    const onSigint = () => ac.abort();
    process.once('SIGINT', onSigint);
    let result;
    try {
      result = await prepareProject(values.project, {
        masks,
        force: values.force,
        signal: ac.signal,
        onProgress: (p: PrepareProgress) => {
          if (p.event === 'start') {
            io.stderr(`Preparing ${p.total} views with ${kind === 'auto' ? 'the built-in classical segmentation' : kind === 'sam' ? `SAM (${values.model})` : `masks imported from ${kind}`}\n`);
            return;
          }
          const head = `view ${p.done} of ${p.total} (${p.view})`;
          if (p.event === 'view-skipped') io.stderr(`${head}: already prepared, skipped${formatEta(p.etaSeconds)}\n`);
          else if (p.event === 'view-done') io.stderr(`${head}: done${formatEta(p.etaSeconds)}\n`);
          else io.stderr(`${head}: FAILED: ${p.error?.message ?? 'unknown error'}\n`);
        },
      });
    } catch (e) {
      if (e instanceof SagaError && e.code === 'CANCELLED') {
        io.stderr(`Interrupted. ${e.message} Run the same command again to continue.\n`);
        return 130;
      }
      throw e;
    } finally {
      process.removeListener('SIGINT', onSigint);
    }
    const sheetPath = values['contact-sheet'];
    const sheet = sheetPath ? preparedContactSheet(projectPrepareInput(values.project), 8) : undefined;
    if (sheetPath && sheet) writeFileAtomicSync(sheetPath, encodeRgbPng(sheet));
    // Results on stdout (the JSON, or the summary), progress and the failure line on stderr.
    if (values.json) {
      io.stdout(JSON.stringify({ ...result, ...(sheetPath && sheet ? { contactSheet: sheetPath } : {}) }, null, 1) + '\n');
    } else {
      const lines = [
        `Prepared ${result.done + result.skipped} of ${result.views.length} views (${result.done} computed, ${result.skipped} already done)${result.failed ? `, ${result.failed} FAILED` : ''} in ${(result.elapsedMs / 1000).toFixed(1)} s.`,
        `Mask source: ${result.source} (${result.sourceDetail}).`,
      ];
      for (const v of result.views.filter((r) => r.status === 'failed')) lines.push(`  failed: ${v.name}: ${v.error?.message}`);
      if (result.recommendation) {
        lines.push(result.recommendation, `Install the recommended one and use it: saga-studio prepare --project ${values.project} --masks sam --model sam_vit_b_quantized --download`);
      }
      if (sheetPath && sheet) lines.push(`Contact sheet of the masks: ${sheetPath}`);
      io.stdout(lines.join('\n') + '\n');
    }
    if (result.failed) io.stderr(`${result.failed} of ${result.views.length} views failed (listed in the summary). Fix or remove them and run the command again: finished views are kept.\n`);
    return result.failed ? 1 : 0;
  },
};

export default command;
