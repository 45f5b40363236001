import { SagaError, toSagaError } from '../contract/errors.ts';
import { APP_VERSION } from '../contract/version.ts';
import type { CliIO, Command } from './command.ts';
import { FILTERED_ENV, endWithLauncher, runWithFilteredStderr } from './dawn-stderr.ts';

export interface CommandEntry {
  /** One line for `saga-studio --help`. */
  summary: string;
  /** The command starts the GPU engine: run it with Dawn's adapter warnings kept off stderr. */
  gpu?: boolean;
  /** The command's module, loaded only when it runs: `saga-studio info` pays for no GPU engine or SQLite. */
  load: () => Promise<{ default: Command }>;
}

/**
 * Every subcommand: the one list. The CLI build (main/host/build/cli-build.ts) makes each module
 * its own chunk through these imports, so a new command needs only its line here.
 */
export const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  info: { summary: "Print a scene file's format, Gaussian count, SH degree, properties and bounds", load: () => import('./commands/info.ts') },
  convert: { summary: 'Convert a scene between 3DGS PLY, compressed PLY, .splat and .spz', load: () => import('./commands/convert.ts') },
  import: { summary: 'Create a project from a scene file or a 3DGS training output folder', load: () => import('./commands/import.ts') },
  render: { summary: 'Render one view of a scene or project to a PNG on the GPU (colour or per-Gaussian features)', gpu: true, load: () => import('./commands/render.ts') },
  'render-views': { summary: 'Render N orbit views of a scene into images/ + cameras.json (INRIA layout)', gpu: true, load: () => import('./commands/render-views.ts') },
  prepare: { summary: 'Extract 2D masks and image features for every view (SAM or the built-in default)', load: () => import('./commands/prepare.ts') },
  train: { summary: "Train the per-Gaussian features on the prepared views (SAGA's losses; resumable)", gpu: true, load: () => import('./commands/train.ts') },
  'export-features': { summary: 'Write the scene with its trained features as extra PLY properties (f_feat_*)', load: () => import('./commands/export-features.ts') },
  segment: { summary: 'Select an object from a click, scribble, box or mask in a view (SAGA, trained features)', load: () => import('./commands/segment.ts') },
  export: { summary: "Save a project's edited scene or one layer as 3DGS PLY, .splat or .spz", load: () => import('./commands/export.ts') },
  synth: { summary: 'Generate a synthetic scene with ground truth, prompts and oracle masks', load: () => import('./commands/synth.ts') },
  eval: { summary: 'Score segmentation against ground truth (3D IoU, 2D mIoU/mAcc, latency)', load: () => import('./commands/eval.ts') },
  'eval-suite': { summary: 'Run the fixed synthetic evaluation suite and write bench/RESULTS.md', gpu: true, load: () => import('./commands/eval-suite.ts') },
  serve: { summary: 'Serve the editor to a browser on 127.0.0.1 (browser mode)', gpu: true, load: () => import('./commands/serve.ts') },
};

const defaultIO: CliIO = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

function usage(commands: Readonly<Record<string, CommandEntry>>): string {
  const lines = ['Usage: saga-studio <command> [options]', '', 'Commands:'];
  for (const [name, entry] of Object.entries(commands)) lines.push(`  ${name.padEnd(14)} ${entry.summary}`);
  lines.push('', "Run 'saga-studio <command> --help' for a command's options.", '');
  return lines.join('\n');
}

function isHelp(arg: string | undefined): boolean {
  return !arg || arg === '--help' || arg === '-h' || arg === 'help';
}

/** Runs the CLI and returns the exit code: 0 on success, 1 on a failure (one line on stderr), 2 on bad usage. */
export async function main(argv: string[], io: CliIO = defaultIO, commands: Readonly<Record<string, CommandEntry>> = COMMANDS): Promise<number> {
  const [name, ...rest] = argv;
  if (isHelp(name)) {
    io.stdout(usage(commands));
    return name ? 0 : 2;
  }
  if (name === '--version') {
    io.stdout(`saga-studio ${APP_VERSION}\n`);
    return 0;
  }
  const entry = Object.prototype.hasOwnProperty.call(commands, name!) ? commands[name!] : undefined;
  if (!entry) {
    io.stderr(`saga-studio: unknown command '${name}'. Run 'saga-studio --help' for the list.\n`);
    return 2;
  }
  let command: Command;
  try {
    command = (await entry.load()).default;
  } catch (e) {
    // A command listed here whose module does not load is a broken install or build, not a usage
    // error: say which command and why, rather than hide it from the list.
    io.stderr(`saga-studio: the '${name}' command failed to load (${e instanceof Error ? e.message : String(e)}). Reinstall with \`npm ci\`, or rebuild with \`npm run build\`.\n`);
    return 1;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(command.help.endsWith('\n') ? command.help : command.help + '\n');
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    const err = toSagaError(e);
    io.stderr(`saga-studio ${name}: ${err.message}\n`);
    if (err.code === 'INTERNAL' && process.env.SAGA_DEBUG) io.stderr(`${(err.cause as Error)?.stack ?? ''}\n`);
    return err.code === 'BAD_ARGUMENT' ? 2 : 1;
  }
}

/**
 * What main/host/bin.mjs runs: main(), except that a command using the GPU runs in a child process
 * whose stderr is kept free of Dawn's adapter warnings (see dawn-stderr.ts).
 */
export async function runFromShell(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const entry = name !== undefined && Object.prototype.hasOwnProperty.call(COMMANDS, name) ? COMMANDS[name] : undefined;
  const wantsHelp = rest.includes('--help') || rest.includes('-h');
  if (entry?.gpu && !wantsHelp && !process.env[FILTERED_ENV]) return runWithFilteredStderr(argv);
  endWithLauncher();
  return main(argv);
}

export { SagaError };
