/**
 * `npm run bench -- io [splats] [--runs N]`: an INRIA 3DGS PLY with SH degree 3 (62 float
 * properties, 248 bytes per Gaussian; 1M Gaussians by default, about 248 MB):
 * 1. read and write throughput in this process (readScene / writeScene): median MB/s over 3 runs
 *    and peak RSS against the file size (targets: >= 400 MB/s, peak RSS < 3x file size);
 * 2. `saga-studio convert` against `@playcanvas/splat-transform` on the same file, side by side as
 *    whole processes (start-up included), run in turn A B A B so both see the same machine:
 *    median wall time, the median of the pairwise ratios A/B, and each one's peak memory.
 *    Targets for PLY to PLY: ratio <= 0.6, peak memory <= 1.5x the file size. PLY to SPZ is
 *    printed beside it (both read the whole scene for that format).
 * The generated files are deleted.
 */
import { rm, stat } from 'node:fs/promises';
import { join as joinPath } from 'node:path';
import { PROJECT_ROOT } from '../main/common/paths.ts';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createScene, type GaussianScene } from '../main/scene/gaussians.ts';
import { readScene, writeScene } from '../main/scene/io.ts';
import { MB, loadLine, median, runProcess, withPeakRss } from './util.ts';

/** A deterministic SH3 scene with normals, laid out like an INRIA training output. */
export function syntheticScene(count: number): GaussianScene {
  const scene = createScene(count, 3);
  let s = 12345;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  const fill = (a: Float32Array, scale: number) => {
    for (let i = 0; i < a.length; i++) a[i] = rand() * scale;
  };
  fill(scene.positions, 20);
  fill(scene.scales, 4);
  fill(scene.rotations, 2);
  fill(scene.opacities, 8);
  fill(scene.sh0, 2);
  fill(scene.shRest, 0.5);
  const names = ['nx', 'ny', 'nz'];
  scene.extras = names.map((name) => ({ name, type: 'float' as const, data: new Float32Array(count) }));
  scene.source = {
    format: 'ply',
    plyProperties: [
      'x', 'y', 'z', 'nx', 'ny', 'nz', 'f_dc_0', 'f_dc_1', 'f_dc_2',
      ...Array.from({ length: 45 }, (_, k) => `f_rest_${k}`),
      'opacity', 'scale_0', 'scale_1', 'scale_2', 'rot_0', 'rot_1', 'rot_2', 'rot_3',
    ].map((name) => ({ name, type: 'float' as const })),
  };
  return scene;
}

const SAGA = joinPath(PROJECT_ROOT, 'main/host/bin.mjs');
const SPLAT_TRANSFORM = joinPath(PROJECT_ROOT, 'node_modules/@playcanvas/splat-transform/bin/cli.mjs');

/** Both tools convert `input` to `ext`, in turn, `runs` times after one warm-up each; prints the figures. */
function convertSideBySide(input: string, fileBytes: number, ext: '.ply' | '.spz', runs: number): void {
  const ours = `${input}.saga-out${ext}`;
  const theirs = `${input}.st-out${ext}`;
  const a = () => runProcess(process.execPath, [SAGA, 'convert', '--force', input, ours]);
  const b = () => runProcess(process.execPath, [SPLAT_TRANSFORM, '-w', input, theirs]);
  const check = (r: ReturnType<typeof a>, who: string) => {
    if (r.status !== 0) throw new Error(`${who} failed (exit ${r.status}): ${r.stderr.slice(-500)}`);
    return r;
  };
  try {
    check(a(), 'saga-studio convert');
    check(b(), 'splat-transform');
    const A: ReturnType<typeof a>[] = [];
    const B: ReturnType<typeof a>[] = [];
    for (let r = 0; r < runs; r++) {
      A.push(check(a(), 'saga-studio convert'));
      B.push(check(b(), 'splat-transform'));
    }
    const ratios = A.map((x, i) => x.wallMs / B[i]!.wallMs);
    const peak = (rs: typeof A) => (rs[0]!.peakRss === undefined ? 'peak memory n/a (install Debian\'s time package)' : `peak ${(Math.max(...rs.map((x) => x.peakRss!)) / 1e6).toFixed(0)} MB = ${(Math.max(...rs.map((x) => x.peakRss!)) / fileBytes).toFixed(2)}x file`);
    const runsOf = (rs: typeof A) => rs.map((x) => x.wallMs.toFixed(0)).join(', ');
    console.log(`convert PLY -> ${ext.slice(1).toUpperCase()}, whole processes, ${runs} runs each in turn:`);
    console.log(`  saga-studio convert:     median ${median(A.map((x) => x.wallMs)).toFixed(0)} ms (runs ${runsOf(A)}), ${peak(A)}`);
    console.log(`  splat-transform:         median ${median(B.map((x) => x.wallMs)).toFixed(0)} ms (runs ${runsOf(B)}), ${peak(B)}`);
    console.log(`  ratio saga/splat-transform: median ${median(ratios).toFixed(2)} (pairs: ${ratios.map((r) => r.toFixed(2)).join(', ')})${ext === '.ply' ? '  target <= 0.6, peak <= 1.5x file' : ''}`);
  } finally {
    void rm(ours, { force: true });
    void rm(theirs, { force: true });
  }
}

export async function run(args: string[]): Promise<void> {
  const runsFlag = args.indexOf('--runs');
  const convertRuns = runsFlag >= 0 ? Number(args.splice(runsFlag, 2)[1]) : 5;
  const count = Number(args[0] ?? 1_000_000);
  const runs = 3;
  const path = join(tmpdir(), `saga-io-bench-${process.pid}.ply`);
  const out = join(tmpdir(), `saga-io-bench-${process.pid}-out.ply`);
  try {
    let scene: GaussianScene | undefined = syntheticScene(count);
    await writeScene(scene, path);
    const fileBytes = (await stat(path)).size;
    const fileMB = fileBytes / MB;
    scene = undefined;
    console.log(`io bench: ${count.toLocaleString('en-US')} Gaussians, SH degree 3, 62 float properties, ${(fileBytes / 1e6).toFixed(1)} MB (${fileMB.toFixed(1)} MiB)`);

    const readTimes: number[] = [];
    const writeTimes: number[] = [];
    // CPU time beside wall time: on a shared 2-core machine the wall figure moves with other load.
    const readCpu: number[] = [];
    const writeCpu: number[] = [];
    const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
    let readPeak = 0;
    let writePeak = 0;
    (globalThis as { gc?: () => void }).gc?.();
    const baseRss = process.memoryUsage.rss();
    for (let r = 0; r < runs; r++) {
      (globalThis as { gc?: () => void }).gc?.();
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const { result, peakRss } = await withPeakRss(() => readScene(path));
      readTimes.push(performance.now() - t0);
      readCpu.push(cpuMs(process.cpuUsage(c0)));
      readPeak = Math.max(readPeak, peakRss);
      const t1 = performance.now();
      const c1 = process.cpuUsage();
      const w = await withPeakRss(() => writeScene(result, out));
      writeTimes.push(performance.now() - t1);
      writeCpu.push(cpuMs(process.cpuUsage(c1)));
      writePeak = Math.max(writePeak, w.peakRss);
      await rm(out, { force: true });
    }
    const readMs = median(readTimes);
    const writeMs = median(writeTimes);
    // Throughput in decimal MB/s (the 248 MB file), with MiB/s beside it.
    const readMBs = fileBytes / 1e6 / (readMs / 1000);
    const writeMBs = fileBytes / 1e6 / (writeMs / 1000);
    const peak = Math.max(readPeak, writePeak);
    console.log(`read:  median ${readMs.toFixed(0)} ms over ${runs} runs = ${readMBs.toFixed(0)} MB/s, ${(fileMB / (readMs / 1000)).toFixed(0)} MiB/s (runs: ${readTimes.map((t) => t.toFixed(0)).join(', ')} ms)  target >= 400`);
    console.log(`write: median ${writeMs.toFixed(0)} ms over ${runs} runs = ${writeMBs.toFixed(0)} MB/s, ${(fileMB / (writeMs / 1000)).toFixed(0)} MiB/s (runs: ${writeTimes.map((t) => t.toFixed(0)).join(', ')} ms)  target >= 400`);
    console.log(`cpu time (all threads): read median ${median(readCpu).toFixed(0)} ms, write median ${median(writeCpu).toFixed(0)} ms; load average ${os.loadavg()[0]!.toFixed(1)} on ${os.availableParallelism()} cores`);
    console.log(`peak RSS: ${(peak / 1e6).toFixed(0)} MB = ${(peak / fileBytes).toFixed(2)}x file size, whole process (baseline before the timed reads ${(baseRss / 1e6).toFixed(0)} MB)  target < 3x`);
    console.log(loadLine());
    convertSideBySide(path, fileBytes, '.ply', convertRuns);
    convertSideBySide(path, fileBytes, '.spz', Math.max(1, Math.min(convertRuns, 3)));
    console.log(loadLine());
  } finally {
    await rm(path, { force: true });
    await rm(out, { force: true });
  }
}
