/**
 * Dawn (the WebGPU implementation in the `webgpu` package) prints two warnings straight to file
 * descriptor 2 from native code when it reads the adapter's limits on Mesa's lavapipe:
 *   Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 ...
 * They say nothing a user can act on, and no Dawn flag or API turns them off (its logging to
 * stderr is compiled in), and Node cannot redirect a descriptor of its own process. So a CLI
 * command that uses the GPU runs in a child process whose stderr passes through this filter:
 * every other byte reaches the terminal unchanged and at once.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';

/** The lines dropped, and nothing else. */
const DAWN_NOISE = /^Warning: maxDynamic(Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.\r?$/;
const NOISE_PREFIX = 'Warning: maxDynamic';

/**
 * Set in the child so it runs the command itself rather than spawning again; its value says
 * whether the real stderr (behind the filter) is a terminal.
 */
export const FILTERED_ENV = 'SAGA_STDERR_FILTERED';

/**
 * Whether what a command writes to stderr reaches a terminal (progress bars with \r, or a line
 * now and then): in the filtered child, stderr is a pipe to the filter, so the parent says.
 */
export function stderrIsTerminal(): boolean {
  const filtered = process.env[FILTERED_ENV];
  return filtered === undefined ? process.stderr.isTTY === true : filtered === 'tty';
}

/**
 * Copies `from` to `to` without Dawn's limit warnings. Complete lines are passed on as they come;
 * an unfinished line is held back only while it could still become one of those warnings, so
 * progress text without a newline is not delayed.
 */
export function filterDawnNoise(from: Readable, to: Writable): Promise<void> {
  let held = '';
  const pass = (text: string) => {
    if (text !== '') to.write(text);
  };
  const flushLines = () => {
    let out = '';
    for (;;) {
      const nl = held.indexOf('\n');
      if (nl < 0) break;
      const line = held.slice(0, nl);
      held = held.slice(nl + 1);
      if (!DAWN_NOISE.test(line)) out += `${line}\n`;
    }
    const couldBeNoise = held.length < NOISE_PREFIX.length ? NOISE_PREFIX.startsWith(held) : held.startsWith(NOISE_PREFIX);
    if (!couldBeNoise) {
      out += held;
      held = '';
    }
    pass(out);
  };
  from.setEncoding('utf8');
  from.on('data', (chunk: string) => {
    held += chunk;
    flushLines();
  });
  return new Promise((resolve) => {
    from.once('end', () => {
      if (!DAWN_NOISE.test(held)) pass(held);
      held = '';
      resolve();
    });
  });
}

/**
 * Runs this same CLI invocation again in a child process whose stderr is filtered, forwarding
 * the signals a terminal or a supervisor sends, and returns the child's exit code.
 */
export async function runWithFilteredStderr(argv: string[]): Promise<number> {
  const script = process.argv[1];
  if (script === undefined) throw new Error('runWithFilteredStderr needs the launcher script path in process.argv[1]');
  // The IPC channel is only there to close: when this process dies, even by kill -9, the child
  // sees it close and ends too (endWithLauncher), instead of working on, holding the project.
  const child = spawn(process.execPath, [...process.execArgv, script, ...argv], {
    stdio: ['inherit', 'inherit', 'pipe', 'ipc'],
    env: { ...process.env, [FILTERED_ENV]: process.stderr.isTTY ? 'tty' : 'pipe' },
  });
  const filtered = filterDawnNoise(child.stderr!, process.stderr);
  // The child is in this process group: a terminal's Ctrl+C (SIGINT) and hang-up (SIGHUP) reach it
  // directly, and forwarding them too would deliver them twice (a command that stops gracefully
  // on the first, like train, would be killed by the second). This process only outlives them
  // until the child exits. SIGTERM, which a supervisor sends to this pid alone, is passed on.
  const stay = () => {};
  const forward = () => child.kill('SIGTERM');
  process.on('SIGINT', stay);
  process.on('SIGHUP', stay);
  process.on('SIGTERM', forward);
  child.channel?.unref();
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (c, s) => resolve([c, s]));
    });
    await filtered;
    // A child ended by a signal: report it the way a shell does (128 + signal number).
    if (code === null) return 128 + (signal ? constants.signals[signal] : 0);
    return code;
  } finally {
    process.off('SIGINT', stay);
    process.off('SIGHUP', stay);
    process.off('SIGTERM', forward);
  }
}

/**
 * In the filtered child: end this process the moment its launcher is gone (its IPC channel
 * closes). A launcher killed with SIGKILL cannot forward anything; the child then dies the same
 * way, as the whole command would have, and the operating system drops its project lock. The
 * channel does not keep the process alive by itself.
 */
export function endWithLauncher(): void {
  if (!process.env[FILTERED_ENV] || !process.channel) return;
  process.once('disconnect', () => process.kill(process.pid, 'SIGKILL'));
  process.channel.unref();
  // Gone before this listener was set up: the event has passed.
  if (!process.connected) process.kill(process.pid, 'SIGKILL');
}
