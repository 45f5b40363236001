import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SagaError } from '../contract/errors.ts';

/** Where a command writes: injected so tests can capture output. */
export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/**
 * One `saga-studio <name>` subcommand. Each lives in main/host/commands/<name>.ts as the default
 * export, and has a line in the command table of main/host/cli.ts (its summary for --help).
 */
export interface Command {
  name: string;
  /** Full help text printed by `saga-studio <name> --help`. */
  help: string;
  /** Returns the process exit code. Throw SagaError for failures the user can act on. */
  run(args: string[], io: CliIO): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * node:util parseArgs with errors turned into BAD_ARGUMENT SagaErrors that name the command's help.
 */
export function parseCommandArgs<O extends Options>(command: string, args: string[], options: O, allowPositionals = true) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new SagaError('BAD_ARGUMENT', `${message}. See 'saga-studio ${command} --help'.`);
  }
}
