import { SagaError, toSagaError } from '../contract/errors.ts';
import { APP_VERSION } from '../contract/version.ts';
import type { CliIO, Command } from './command.ts';

/**
 * Every subcommand, loaded on demand so `saga-studio info` does not pay for the GPU engine or SQLite.
 */
const COMMANDS: Record<string, () => Promise<{ default: Command }>> = {
  info: () => import('./commands/info.ts'),
  convert: () => import('./commands/convert.ts'),
  import: () => import('./commands/import.ts'),
  render: () => import('./commands/render.ts'),
  'render-views': () => import('./commands/render-views.ts'),
  prepare: () => import('./commands/prepare.ts'),
  train: () => import('./commands/train.ts'),
  'export-features': () => import('./commands/export-features.ts'),
  segment: () => import('./commands/segment.ts'),
  export: () => import('./commands/export.ts'),
  synth: () => import('./commands/synth.ts'),
  eval: () => import('./commands/eval.ts'),
  'eval-suite': () => import('./commands/eval-suite.ts'),
  serve: () => import('./commands/serve.ts'),
};

const defaultIO: CliIO = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

async function loadCommand(name: string): Promise<Command | undefined> {
  const load = COMMANDS[name];
  if (!load) return undefined;
  try {
    return (await load()).default;
  } catch (e) {
    // A command whose module is absent in this build is reported as unknown rather than crashing.
    if (e instanceof Error && 'code' in e && e.code === 'ERR_MODULE_NOT_FOUND' && e.message.includes(`commands/${name}.ts`)) {
      return undefined;
    }
    throw e;
  }
}

async function usage(): Promise<string> {
  const lines = ['Usage: saga-studio <command> [options]', '', 'Commands:'];
  for (const name of Object.keys(COMMANDS)) {
    const cmd = await loadCommand(name).catch(() => undefined);
    if (cmd) lines.push(`  ${name.padEnd(14)} ${cmd.summary}`);
  }
  lines.push('', "Run 'saga-studio <command> --help' for a command's options.", '');
  return lines.join('\n');
}

/** Runs the CLI and returns the exit code: 0 on success, 1 on a failure (one line on stderr), 2 on bad usage. */
export async function main(argv: string[], io: CliIO = defaultIO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(await usage());
    return name ? 0 : 2;
  }
  if (name === '--version') {
    io.stdout(`saga-studio ${APP_VERSION}\n`);
    return 0;
  }
  let command: Command | undefined;
  try {
    command = await loadCommand(name);
  } catch (e) {
    io.stderr(`saga-studio: ${toSagaError(e).message}\n`);
    return 1;
  }
  if (!command) {
    io.stderr(`saga-studio: unknown command '${name}'. Run 'saga-studio --help' for the list.\n`);
    return 2;
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

export { SagaError };
