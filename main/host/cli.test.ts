import { describe, expect, it } from 'vitest';
import { main } from './cli.ts';
import type { CliIO } from './command.ts';

function capture(): CliIO & { out: string; err: string } {
  const io = { out: '', err: '', stdout: (t: string) => { io.out += t; }, stderr: (t: string) => { io.err += t; } };
  return io;
}

describe('saga-studio CLI dispatch', () => {
  it('prints usage with exit code 2 when no command is given', async () => {
    const io = capture();
    expect(await main([], io)).toBe(2);
    expect(io.out).toContain('Usage: saga-studio <command>');
  });

  it('rejects an unknown command with one clear line on stderr', async () => {
    const io = capture();
    expect(await main(['frobnicate'], io)).toBe(2);
    expect(io.err.trim().split('\n')).toHaveLength(1);
    expect(io.err).toContain("unknown command 'frobnicate'");
  });
});
