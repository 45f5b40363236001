/**
 * `npm run bench -- io [splats]`: read and write throughput of an INRIA 3DGS PLY with SH degree 3
 * (62 float properties, 248 bytes per Gaussian; 1M Gaussians by default, about 248 MB), through
 * readScene / writeScene. Prints median MB/s over 3 runs and peak RSS against the file size.
 * Targets: >= 400 MB/s read and write, peak RSS < 3x file size. The generated files are deleted.
 */
import { rm, stat } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createScene, type GaussianScene } from '../main/scene/gaussians.ts';
import { readScene, writeScene } from '../main/scene/io.ts';
import { MB, median, withPeakRss } from './util.ts';

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

export async function run(args: string[]): Promise<void> {
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
  } finally {
    await rm(path, { force: true });
    await rm(out, { force: true });
  }
}
