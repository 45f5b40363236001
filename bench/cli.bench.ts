/**
 * `npm run bench -- cli [runs]`: start-up of the `saga-studio` command as a whole process, measured
 * from outside: `--help` (target <= 150 ms) and `info` on a small scene, beside a bare `node -e ''`
 * (the floor no Node CLI goes under on this machine). Medians over `runs` (default 20) after one
 * warm-up; the built CLI (out/cli) is what runs, as after `npm ci`.
 */
import { join } from 'node:path';
import { PROJECT_ROOT } from '../main/common/paths.ts';
import { buildCli } from '../main/host/build/cli-build.ts';
import { loadLine, median, runProcess } from './util.ts';

const BIN = join(PROJECT_ROOT, 'main/host/bin.mjs');
const SCENE = join(PROJECT_ROOT, '../shared/data/scenes/inria-sh3-9080.ply');

export async function run(args: string[]): Promise<void> {
  const runs = Number(args[0] ?? 20);
  await buildCli();
  const cases: [string, string[]][] = [
    ["node -e ''", ['-e', '']],
    ['saga-studio --help', [BIN, '--help']],
    ['saga-studio info (9,080 Gaussians)', [BIN, 'info', SCENE]],
  ];
  console.log(`cli bench: whole processes, ${runs} runs each after one warm-up, in turn; ${loadLine()}`);
  const times = cases.map(() => [] as number[]);
  const peaks = cases.map(() => 0);
  for (const [, argv] of cases) runProcess(process.execPath, argv);
  for (let r = 0; r < runs; r++) {
    cases.forEach(([name, argv], i) => {
      const result = runProcess(process.execPath, argv);
      if (result.status !== 0) throw new Error(`${name} failed: ${result.stderr}`);
      if (name.startsWith('saga') && result.stderr !== '') throw new Error(`${name} wrote to stderr: ${result.stderr}`);
      times[i]!.push(result.wallMs);
      peaks[i] = Math.max(peaks[i]!, result.peakRss ?? 0);
    });
  }
  cases.forEach(([name], i) => {
    const t = times[i]!;
    const target = name === 'saga-studio --help' ? '  target <= 150 ms' : '';
    console.log(`${name.padEnd(36)} median ${median(t).toFixed(0)} ms (min ${Math.min(...t).toFixed(0)}, max ${Math.max(...t).toFixed(0)})${peaks[i] ? `, peak ${(peaks[i]! / 1e6).toFixed(0)} MB` : ''}${target}`);
  });
  console.log(loadLine());
}
