/**
 * The project's npm set-up: no config npm does not know (npm warns about each on every call, and
 * says it will stop honouring them), and onnxruntime-node's install script, which downloads CUDA
 * libraries, denied through package.json's allowScripts policy that npm keeps honouring.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from './fixtures.ts';

const run = promisify(execFile);

describe('npm set-up', () => {
  it('npm calls in the project print no warning about the project config', async () => {
    const { stdout, stderr } = await run('npm', ['pkg', 'get', 'name'], { cwd: PROJECT_ROOT });
    expect(stdout.trim()).toBe('"saga-studio"');
    expect(stderr).not.toMatch(/Unknown project config/);
  });

  it("denies onnxruntime-node's install script and reviews every other one", async () => {
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
    expect(pkg.allowScripts?.['onnxruntime-node']).toBe(false);
    // npm lists installed packages whose install scripts the policy does not cover yet.
    const { stdout } = await run('npm', ['install-scripts', 'ls'], { cwd: PROJECT_ROOT });
    expect(stdout).toContain('No packages with unreviewed install scripts');
  });
});
