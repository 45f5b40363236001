import { SagaError } from '../../contract/errors.ts';
import type { TrainAblation } from '../../contract/api.ts';
import type { TrainProgress } from '../../engine/train/trainer.ts';
import { openProject } from '../../project/store.ts';
import { readScene } from '../../scene/io.ts';
import { parseCommandArgs, type Command, type CliIO } from '../command.ts';
import { EngineClient } from '../engine-client.ts';
import { stderrIsTerminal } from '../dawn-stderr.ts';
import { runProjectTraining } from '../training-run.ts';

const help = `Usage: saga-studio train --project <dir> [--iterations N] [--seed S] [--ablate corr|guidance] [--restart]

Trains SAGA's 32-dimensional feature per Gaussian on the project's prepared views (run
'saga-studio prepare' first): the SAM-guidance and correspondence losses of the paper, with the
scene's geometry frozen. The features are kept in the project (<dir>/training/), never in the
source scene; 'saga-studio export-features' writes them into a copy of the scene.

Resumes from the last checkpoint by default, also after the process was killed: checkpoints are
written every 500 iterations and when the run is interrupted (Ctrl+C stops cleanly).

Options:
  --project <dir>        the project folder (required)
  --iterations <N>       the run's target in iterations (default 10000, or the previous run's)
  --seed <S>             seed of the initial features and of the sampling (default 0); the same
                         seed and thread count give the same features
  --ablate corr|guidance leave out the correspondence or the SAM-guidance loss (the paper's ablations)
  --restart              start from new random features instead of resuming
  --lr <rate>            Adam's learning rate (default 0.0025, as the official code)
  --checkpoint-every <N> write a checkpoint every N iterations (default 500): a killed run then
                         loses at most N iterations
  --json                 print the summary as JSON on stdout

Progress goes to stderr (a bar on a terminal, a line every few seconds otherwise); the summary to
stdout. Exit code 0 when done, 1 on a failure, 2 on wrong usage, 130 when interrupted.
`;

function integer(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new SagaError('BAD_ARGUMENT', `--${name} must be a whole number of at least ${min} (got '${value}').`);
  return n;
}

function duration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** A bar redrawn in place on a terminal; a plain line every few seconds elsewhere (logs, CI). */
function progressPrinter(io: CliIO, tty: boolean): (p: TrainProgress) => void {
  let lastLine = 0;
  return (p) => {
    if (p.stage === 'prepare-view') {
      if (!tty) io.stderr(`preparing view ${p.view} (blend lists)\n`);
      return;
    }
    const losses = p.losses ? `guidance ${p.losses.guidance.toFixed(4)}, corr ${p.losses.corr.toFixed(4)}` : '';
    const speed = p.iterationsPerSecond !== undefined ? `${p.iterationsPerSecond.toFixed(1)} it/s` : '';
    const eta = p.etaSeconds !== undefined ? `ETA ${duration(p.etaSeconds)}` : '';
    if (tty) {
      const width = 28;
      const filled = Math.round((width * p.iteration) / p.iterations);
      io.stderr(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.iteration}/${p.iterations}  ${losses}  ${speed}  ${eta}   `);
      if (p.iteration >= p.iterations) io.stderr('\n');
      return;
    }
    const now = Date.now();
    if (now - lastLine < 5000 && p.iteration < p.iterations) return;
    lastLine = now;
    io.stderr(`iteration ${p.iteration}/${p.iterations}: ${[losses, speed, eta].filter(Boolean).join('; ')}\n`);
  };
}

const command: Command = {
  name: 'train',
  help,
  async run(args, io) {
    const { values } = parseCommandArgs('train', args, {
      project: { type: 'string' },
      iterations: { type: 'string' },
      seed: { type: 'string' },
      'checkpoint-every': { type: 'string' },
      ablate: { type: 'string' },
      restart: { type: 'boolean' },
      lr: { type: 'string' },
      json: { type: 'boolean' },
    }, false);
    if (!values.project) throw new SagaError('BAD_ARGUMENT', "--project <dir> is required. See 'saga-studio train --help'.");
    if (values.ablate !== undefined && values.ablate !== 'corr' && values.ablate !== 'guidance') {
      throw new SagaError('BAD_ARGUMENT', `--ablate must be corr or guidance (got '${values.ablate}').`);
    }
    const iterations = integer('iterations', values.iterations, 1);
    const seed = integer('seed', values.seed, 0);
    const checkpointEvery = integer('checkpoint-every', values['checkpoint-every'], 1);
    const lr = values.lr === undefined ? undefined : Number(values.lr);
    if (lr !== undefined && !(lr > 0 && lr < 10)) throw new SagaError('BAD_ARGUMENT', `--lr must be a positive number such as 0.0025 (got '${values.lr}').`);

    const project = openProject(values.project);
    let engine: EngineClient | undefined;
    const ac = new AbortController();
    const onSigint = () => ac.abort();
    process.once('SIGINT', onSigint);
    try {
      const source = project.sceneSource();
      const scene = await readScene(source.scenePath);
      if (scene.count !== source.count) {
        throw new SagaError('SIZE_MISMATCH', `The project's scene ${source.scenePath} now holds ${scene.count} Gaussians, not ${source.count}. Restore the original file.`);
      }
      engine = await EngineClient.start();
      await engine.loadScene(scene);
      const summary = await runProjectTraining(
        { project, engine, count: scene.count, signal: ac.signal, onProgress: progressPrinter(io, stderrIsTerminal()) },
        {
          ...(iterations !== undefined ? { iterations } : {}),
          ...(seed !== undefined ? { seed } : {}),
          ...(values.ablate ? { ablate: values.ablate as TrainAblation } : {}),
          ...(values.restart ? { restart: true } : {}),
          ...(lr !== undefined || checkpointEvery !== undefined ? { tuning: { ...(lr !== undefined ? { lr } : {}), ...(checkpointEvery !== undefined ? { checkpointEvery } : {}) } } : {}),
        },
      );
      for (const d of summary.damagedCheckpoints) io.stderr(`warning: skipped a damaged checkpoint: ${d}\n`);
      if (summary.skippedViews.length) io.stderr(`${summary.skippedViews.length} prepared view(s) without masks were left out: ${summary.skippedViews.slice(0, 5).join(', ')}\n`);
      if (values.json) io.stdout(JSON.stringify(summary, null, 1) + '\n');
      else if (summary.ran === 0) io.stdout(`Already trained for ${summary.iteration} iterations; nothing to do (ask for more with --iterations, or --restart).\n`);
      else {
        const losses = summary.losses ? ` Final losses: guidance ${summary.losses.guidance.toFixed(4)}, correspondence ${summary.losses.corr.toFixed(4)}.` : '';
        io.stdout(`Trained ${summary.ran} iterations (now ${summary.iteration} of ${summary.iterations}) on ${summary.views} views in ${duration(summary.elapsedMs / 1000)}.${losses}\n`);
      }
      return 0;
    } catch (e) {
      if (e instanceof SagaError && e.code === 'CANCELLED') {
        io.stderr(`\nInterrupted. ${e.message}\n`);
        return 130;
      }
      throw e;
    } finally {
      process.removeListener('SIGINT', onSigint);
      await engine?.close();
      project.close();
    }
  },
};

export default command;
