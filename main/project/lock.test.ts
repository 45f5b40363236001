import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSagaError, type SagaError } from '../contract/errors.ts';
import { acquireProjectLock, projectLockOwner, setLockProgramName } from './lock.ts';

const LOCK_MODULE = pathToFileURL(join(import.meta.dirname, 'lock.ts')).href;

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'saga-lock-'));
  // The unprivileged user of the read-only test must reach its folder.
  chmodSync(root, 0o755);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
function freshDir(): string {
  const dir = join(root, `p${n++}`);
  mkdirSync(dir);
  return dir;
}

/** Another process that takes the lock of `dir`, says so on stdout, and holds it until killed. */
async function holdInChild(dir: string): Promise<ChildProcess> {
  const code = `const l = await import(${JSON.stringify(LOCK_MODULE)}); l.setLockProgramName('test holder'); l.acquireProjectLock(${JSON.stringify(dir)}); console.log('held'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('held')) resolve();
    });
    child.once('exit', (c) => reject(new Error(`the lock holder exited with ${c}`)));
  });
  return child;
}

function thrown(fn: () => unknown): SagaError {
  try {
    fn();
  } catch (e) {
    if (isSagaError(e)) return e;
    throw e;
  }
  throw new Error('expected a SagaError');
}

describe('project lock', () => {
  it('is shared within a process and goes with its last holder', () => {
    const dir = freshDir();
    setLockProgramName('lock test');
    const a = acquireProjectLock(dir);
    const b = acquireProjectLock(dir);
    expect(projectLockOwner(dir)).toMatchObject({ program: 'lock test', pid: process.pid });
    a.release();
    a.release(); // a second release of one hold is a no-op
    expect(projectLockOwner(dir)?.pid).toBe(process.pid);
    b.release();
    expect(projectLockOwner(dir)).toBeUndefined();
  });

  it('refuses a second program with its name, and is free the moment the holder is killed (kill -9)', async () => {
    const dir = freshDir();
    const child = await holdInChild(dir);
    try {
      const err = thrown(() => acquireProjectLock(dir));
      expect(err.code).toBe('PROJECT_LOCKED');
      expect(err.message).toContain(`test holder (process ${child.pid}`);
      expect(err.message).toContain('close it there first');
      expect(projectLockOwner(dir)).toMatchObject({ program: 'test holder', pid: child.pid });
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    // No stale lock: the operating system dropped it with the process.
    expect(projectLockOwner(dir)).toBeUndefined();
    const mine = acquireProjectLock(dir);
    expect(projectLockOwner(dir)?.pid).toBe(process.pid);
    mine.release();
  });

  it('says the folder cannot be written when the lock cannot be made', async () => {
    const dir = freshDir();
    // Root writes anywhere: try as an unprivileged user then (the folder is given to them first).
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;
    if (asUser) chownSync(dir, asUser.uid, asUser.gid);
    chmodSync(dir, 0o555);
    const code = `const l = await import(${JSON.stringify(LOCK_MODULE)}); try { l.acquireProjectLock(${JSON.stringify(dir)}); console.log('acquired'); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'], ...asUser });
      let text = '';
      child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
      child.once('exit', () => resolve(text));
      child.once('error', reject);
    });
    chmodSync(dir, 0o755);
    const result = JSON.parse(out) as { code: string; message: string };
    expect(result.code, result.message).toBe('PROJECT_READ_ONLY');
    expect(result.message).toContain('Make the folder writable');
  });
});
