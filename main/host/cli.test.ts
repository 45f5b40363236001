import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT, SCENES, sharedScene } from '../../e2e/fixtures.ts';
import { COMMANDS, main } from './cli.ts';
import type { CliIO } from './command.ts';
import { filterDawnNoise } from './dawn-stderr.ts';

function capture(): CliIO & { out: string; err: string } {
  const io = { out: '', err: '', stdout: (t: string) => { io.out += t; }, stderr: (t: string) => { io.err += t; } };
  return io;
}

const BIN = join(PROJECT_ROOT, 'main/host/bin.mjs');

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
    expect(await main(['constructor'], io)).toBe(2);
  });

  it('lists every command module in its table, and each loads under its own name', async () => {
    const files = readdirSync(join(PROJECT_ROOT, 'main/host/commands')).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).map((f) => f.slice(0, -3));
    expect(Object.keys(COMMANDS).sort()).toEqual(files.sort());
    const io = capture();
    expect(await main(['--help'], io)).toBe(0);
    for (const [name, entry] of Object.entries(COMMANDS)) {
      expect(io.out).toContain(`  ${name.padEnd(14)} ${entry.summary}`);
      expect((await entry.load()).default.name).toBe(name);
    }
  });

  it('marks every command that starts the GPU engine, so its stderr goes through the Dawn filter', () => {
    for (const [name, entry] of Object.entries(COMMANDS)) {
      const source = readFileSync(join(PROJECT_ROOT, 'main/host/commands', `${name}.ts`), 'utf8');
      expect(entry.gpu === true, `${name}: gpu flag`).toBe(/\bEngineClient\b|engine-client/.test(source) || name === 'serve');
    }
  });

  it('says which command failed to load and why, instead of dropping it from the list', async () => {
    const broken = { ...COMMANDS, broken: { summary: 'A command whose module is missing', load: () => Promise.reject(new Error("Cannot find module './commands/broken.ts'")) } };
    const io = capture();
    expect(await main(['--help'], io, broken)).toBe(0);
    expect(io.out).toContain('A command whose module is missing');
    expect(await main(['broken', 'x'], io, broken)).toBe(1);
    expect(io.err).toContain("the 'broken' command failed to load (Cannot find module './commands/broken.ts')");
  });
});

describe('saga-studio as a process (the built CLI)', () => {
  it('prints its help and version with nothing on stderr', () => {
    const help = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: saga-studio <command>');
    expect(help.stderr).toBe('');
    const version = spawnSync(process.execPath, [BIN, '--version'], { encoding: 'utf8' });
    expect(version.stdout).toMatch(/^saga-studio \d+\.\d+\.\d+/);
  });

  it('renders on the GPU with nothing on stderr (Dawn warnings filtered), and keeps its exit codes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'saga-cli-'));
    try {
      const ok = spawnSync(process.execPath, [BIN, 'render', sharedScene(SCENES.inria), '--camera', 'orbit:0/4', '--out', join(dir, 'view.png'), '--width', '32'], { encoding: 'utf8', timeout: 120_000 });
      expect(ok.stderr).toBe('');
      expect(ok.status).toBe(0);
      expect(ok.stdout).toContain('view.png');
      const missing = spawnSync(process.execPath, [BIN, 'render', join(dir, 'missing.ply'), '--camera', 'orbit:0/4', '--out', join(dir, 'x.png')], { encoding: 'utf8', timeout: 120_000 });
      expect(missing.status).toBe(1);
      expect(missing.stderr.trim().split('\n')).toEqual([expect.stringContaining('missing.ply: no such file')]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a GPU command behind the stderr filter', () => {
  it('gets a terminal Ctrl+C once (it reaches the whole process group) and exits as it chooses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'saga-cli-sigint-'));
    // serve is a GPU command: it runs in the filtered child. Its own process group stands for a terminal's.
    const child = spawn(process.execPath, [BIN, 'serve', '--renderer', dir, '--user-data', dir], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      await new Promise<void>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('SAGA Studio: http://')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      process.kill(-child.pid!, 'SIGINT');
      // A second SIGINT forwarded by the parent would kill the child (serve stops gracefully on the first): exit 130.
      expect(await exited).toBe(0);
      expect(err).not.toMatch(/artificially reduced/);
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('filterDawnNoise', () => {
  async function filter(chunks: string[]): Promise<string> {
    const from = new PassThrough();
    const to = new PassThrough();
    let out = '';
    to.on('data', (d: Buffer) => (out += d.toString()));
    const done = filterDawnNoise(from, to);
    for (const c of chunks) from.write(c);
    from.end();
    await done;
    return out;
  }
  const noise = 'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.\n'
    + 'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.\n';

  it("drops Dawn's two limit warnings, however the stream is cut, and passes everything else", async () => {
    const text = `first line\n${noise}progress 50%\rprogress 100%\nWarning: something a user needs\nlast`;
    const expected = 'first line\nprogress 50%\rprogress 100%\nWarning: something a user needs\nlast';
    expect(await filter([text])).toBe(expected);
    // Cut at every position: the held-back prefix logic must not lose or reorder bytes.
    for (let cut = 1; cut < text.length; cut += 7) expect(await filter([text.slice(0, cut), text.slice(cut)])).toBe(expected);
    expect(await filter(text.split(''))).toBe(expected);
  });
});
