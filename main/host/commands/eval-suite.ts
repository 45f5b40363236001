import { join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../../common/paths.ts';
import { SagaError } from '../../contract/errors.ts';
import { parseCommandArgs, type Command } from '../command.ts';
import { PROMPT_KINDS, type PromptKind } from '../../engine/segment/types.ts';

const help = `Usage: saga-studio eval-suite [options]   (npm run eval)

Generates the fixed suite of synthetic scenes (fixed seeds), runs every method on the prompts made
from their ground truth, prints one table per method and prompt form (3D IoU, 2D mIoU, 2D mAcc per
scene and their mean) and writes them with a guide to reading them to bench/RESULTS.md.

Options:
  --results <file>    where to write the Markdown (default bench/RESULTS.md; 'none' to skip)
  --keep <dir>        keep the generated scene folders in <dir>
  --method <names>    comma-separated methods (default: all of them; single-view with --no-train)
  --kind <kinds>      prompt forms: ${PROMPT_KINDS.join(', ')} (default all)
  --tiny              one tiny scene (a smoke test, seconds)
  --no-train          skip feature training (and the trained methods)

Each scene is also made a project, its views prepared with the oracle's masks and its features
trained with both losses and without each (the paper's ablations); the feature probe of each is
printed beside the untrained features.
`;

const command: Command = {
  name: 'eval-suite',
  help,
  async run(args, io) {
    const { values } = parseCommandArgs('eval-suite', args, {
      results: { type: 'string' },
      keep: { type: 'string' },
      method: { type: 'string' },
      kind: { type: 'string' },
      tiny: { type: 'boolean' },
      'no-train': { type: 'boolean' },
    }, false);
    const kinds = (values.kind ?? PROMPT_KINDS.join(',')).split(',').map((k) => k.trim()) as PromptKind[];
    for (const k of kinds) if (!PROMPT_KINDS.includes(k)) throw new SagaError('BAD_ARGUMENT', `--kind must be among ${PROMPT_KINDS.join(', ')} (got '${k}').`);
    const { runEvalSuite, suiteTables, probeTable, resultsMarkdown, writeResults, CI_SUITE, TINY_SUITE } = await import('../../engine/eval/suite.ts');
    const scenes = values.tiny ? TINY_SUITE : CI_SUITE;
    io.stderr(`eval-suite: ${scenes.length} scenes (${scenes.map((s) => s.name).join(', ')})\n`);
    const { EngineClient } = await import('../engine-client.ts');
    const { suiteTrainer } = await import('../eval-training.ts');
    const engine = values['no-train'] ? undefined : await EngineClient.start();
    let report;
    try {
      report = await runEvalSuite({
        scenes,
        methods: values.method?.split(',').map((m) => m.trim()),
        kinds,
        workDir: values.keep ? resolve(values.keep) : undefined,
        ...(engine ? { train: suiteTrainer(engine, undefined, (line) => io.stderr(`${line}\n`)) } : {}),
        onProgress: (p) => io.stderr(`${p.stage} ${p.done}/${p.total}\n`),
      });
    } finally {
      await engine?.close();
    }
    const probe = probeTable(report);
    io.stdout((probe ? `${probe}\n` : '') + suiteTables(report) + `\nSuite time: ${report.seconds.toFixed(1)} s\n`);
    const target = values.results ?? join(PROJECT_ROOT, 'bench', 'RESULTS.md');
    if (target !== 'none') {
      await writeResults(resolve(target), resultsMarkdown(report));
      io.stdout(`Wrote ${resolve(target)}\n`);
    }
    return 0;
  },
};

export default command;
